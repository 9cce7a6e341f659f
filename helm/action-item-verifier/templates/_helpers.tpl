{{/*
The chart name, or nameOverride.
*/}}
{{- define "action-item-verifier.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the objects: fullnameOverride, or "<release>-<name>" (just the release name when it already
contains the name). Truncated to 52 characters: a CronJob adds an 11-character suffix to its Jobs' names.
*/}}
{{- define "action-item-verifier.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The start of a one-off Job's name: the full name cut to 45 characters, so that "<this>-manual-<10-digit epoch>"
(NOTES, docs/deploy.md) is at most 63 characters, as a Job name must be to label its Pods.
*/}}
{{- define "action-item-verifier.oneOffPrefix" -}}
{{- include "action-item-verifier.fullname" . | trunc 45 | trimSuffix "-" }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "action-item-verifier.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that select this release's Pods (NetworkPolicy).
*/}}
{{- define "action-item-verifier.selectorLabels" -}}
app.kubernetes.io/name: {{ include "action-item-verifier.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "action-item-verifier.labels" -}}
helm.sh/chart: {{ include "action-item-verifier.chart" . }}
{{ include "action-item-verifier.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: action-item-verifier
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the Pods run as.
*/}}
{{- define "action-item-verifier.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "action-item-verifier.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret holding the credentials; empty when there is none.
*/}}
{{- define "action-item-verifier.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else if .Values.secret.values }}
{{- include "action-item-verifier.fullname" . }}
{{- end }}
{{- end }}

{{/*
The image reference: repository:tag, or repository@digest when a digest is given.
*/}}
{{- define "action-item-verifier.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
A setting's value as an environment variable string: lists joined with commas, maps as JSON, whole numbers
without an exponent (values files are read as JSON numbers, so 1234567 would otherwise print as 1.234567e+06).
*/}}
{{- define "action-item-verifier.envValue" -}}
{{- if kindIs "slice" . }}
{{- join "," . }}
{{- else if kindIs "map" . }}
{{- toJson . }}
{{- else if and (kindIs "float64" .) (eq . (floor .)) }}
{{- int64 . }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

{{/*
The container's env: the tracker, dry run, every `config` setting, and the credentials (env mode) or the
secrets directory (files mode). Shared by the CronJob and the helm test Pod.
*/}}
{{- define "action-item-verifier.env" -}}
- name: VERIFIER_TRACKER
  value: {{ .Values.tracker | quote }}
- name: VERIFIER_DRY_RUN
  value: {{ .Values.dryRun | ternary "true" "false" | quote }}
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ include "action-item-verifier.envValue" $value | quote }}
{{- end }}
{{- if not (hasKey (.Values.config | default dict) "VERIFIER_RUN_DEADLINE_SECONDS") }}
{{- /* The run's deadline: the Job's, less room to write what is decided (a sixth, at most ten minutes). */}}
{{- $active := int .Values.job.activeDeadlineSeconds }}
- name: VERIFIER_RUN_DEADLINE_SECONDS
  value: {{ sub $active (min 600 (div $active 6)) | quote }}
{{- end }}
{{- if not (hasKey (.Values.config | default dict) "VERIFIER_RUN_INTERVAL_SECONDS") }}
- name: VERIFIER_RUN_INTERVAL_SECONDS
  value: {{ include "action-item-verifier.runIntervalSeconds" . | quote }}
{{- end }}
{{- $secret := include "action-item-verifier.secretName" . }}
{{- if and $secret (eq .Values.secret.mode "files") }}
- name: VERIFIER_SECRETS_DIR
  value: {{ .Values.secret.mountPath | quote }}
{{- else if $secret }}
{{- $keys := .Values.secret.keys }}
{{- if not .Values.secret.existingSecret }}
{{- $keys = keys .Values.secret.values | sortAlpha }}
{{- end }}
{{- range $keys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The Pod spec shared by the CronJob's Pods and the helm test Pod; the caller passes the container's args.
Usage: include "action-item-verifier.podSpec" (dict "root" . "args" (list "doctor"))
*/}}
{{- define "action-item-verifier.podSpec" -}}
{{- $root := .root }}
{{- $secret := include "action-item-verifier.secretName" $root -}}
serviceAccountName: {{ include "action-item-verifier.serviceAccountName" $root }}
automountServiceAccountToken: false
restartPolicy: Never
terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
containers:
  - name: verifier
    image: {{ include "action-item-verifier.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      {{- include "action-item-verifier.env" $root | nindent 6 }}
    {{- with $root.Values.extraEnvFrom }}
    envFrom:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    resources:
      {{- toYaml $root.Values.resources | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if and $secret (eq $root.Values.secret.mode "files") }}
      - name: credentials
        mountPath: {{ $root.Values.secret.mountPath }}
        readOnly: true
      {{- end }}
      {{- with $root.Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ $root.Values.tmpSizeLimit }}
  {{- if and $secret (eq $root.Values.secret.mode "files") }}
  - name: credentials
    secret:
      secretName: {{ $secret }}
      defaultMode: 0440
  {{- end }}
  {{- with $root.Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The job label value the run pushes its metrics under (VERIFIER_PUSHGATEWAY_JOB).
*/}}
{{- define "action-item-verifier.pushgatewayJob" -}}
{{- (.Values.config).VERIFIER_PUSHGATEWAY_JOB | default "action-item-verifier" }}
{{- end }}

{{/*
Seconds between scheduled runs, read from `schedule`: the one value the run's first-run plan
(VERIFIER_RUN_INTERVAL_SECONDS) and the alerts' two intervals both follow: the longest gap between two runs of
the schedule. Read: a @macro, `@every 6h`, every N minutes or hours (a step in the minute or hour field), one
minute of every hour, or one minute at one or more listed hours of every day.
A schedule it cannot read (days of the week or month, minute lists) fails the install unless
config.VERIFIER_RUN_INTERVAL_SECONDS says the interval; when set, that value wins.
*/}}
{{- define "action-item-verifier.runIntervalSeconds" -}}
{{- $config := .Values.config | default dict }}
{{- if hasKey $config "VERIFIER_RUN_INTERVAL_SECONDS" }}
{{- int64 (get $config "VERIFIER_RUN_INTERVAL_SECONDS") }}
{{- else }}
{{- $schedule := .Values.schedule | toString | trim }}
{{- $macros := dict "@hourly" 3600 "@daily" 86400 "@midnight" 86400 "@weekly" 604800 "@monthly" 2678400 "@yearly" 31622400 "@annually" 31622400 }}
{{- $seconds := 0 }}
{{- if hasKey $macros $schedule }}
{{- $seconds = get $macros $schedule }}
{{- else if regexMatch "^@every +([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $schedule }}
{{- range $unit, $factor := dict "h" 3600 "m" 60 "s" 1 }}
{{- $part := regexFind (printf "[0-9]+%s" $unit) $schedule }}
{{- if $part }}
{{- $seconds = add $seconds (mul (atoi (trimSuffix $unit $part)) $factor) }}
{{- end }}
{{- end }}
{{- else }}
{{- $fields := regexSplit "\\s+" $schedule -1 }}
{{- if and (eq (len $fields) 5) (eq (index $fields 2) "*") (eq (index $fields 3) "*") (eq (index $fields 4) "*") }}
{{- $minute := index $fields 0 }}
{{- $hour := index $fields 1 }}
{{- if and (eq $minute "*") (eq $hour "*") }}
{{- $seconds = 60 }}
{{- else if and (regexMatch "^\\*/[0-9]+$" $minute) (eq $hour "*") }}
{{- $seconds = mul (atoi (trimPrefix "*/" $minute)) 60 }}
{{- else if regexMatch "^[0-9]+$" $minute }}
{{- if eq $hour "*" }}
{{- $seconds = 3600 }}
{{- else if regexMatch "^\\*/[0-9]+$" $hour }}
{{- $seconds = mul (atoi (trimPrefix "*/" $hour)) 3600 }}
{{- else if regexMatch "^[0-9]+(,[0-9]+)*$" $hour }}
{{- $hours := list }}
{{- range splitList "," $hour }}
{{- $hours = append $hours (printf "%02d" (atoi .)) }}
{{- end }}
{{- $hours = sortAlpha (uniq $hours) }}
{{- $gap := add (sub 24 (atoi (last $hours))) (atoi (first $hours)) }}
{{- $previous := -1 }}
{{- range $hours }}
{{- if ge $previous 0 }}
{{- $gap = max $gap (sub (atoi .) $previous) }}
{{- end }}
{{- $previous = atoi . }}
{{- end }}
{{- $seconds = mul $gap 3600 }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $seconds }}
{{- fail (printf "cannot tell the interval between runs from schedule %q: set config.VERIFIER_RUN_INTERVAL_SECONDS to the longest gap between two runs, in seconds (the first-run plan and the alerts use it)" $schedule) }}
{{- end }}
{{- int64 $seconds }}
{{- end }}
{{- end }}
