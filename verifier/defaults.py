"""Every default the tool ships with, written once. Settings, the run's options, the domain and the adapters read
them from here, so changing one (a label name, an SLA) is a one-line change."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: The label every post-incident action item carries (the seed's); what `run` and `report` search for.
LABEL = "post-incident"
#: The labels filing adds besides LABEL and the incident's own.
FILED_LABEL = "auto-generated"
#: What a verdict labels a ticket with.
VERIFIED_LABEL = "verified-by-otel"
FAILED_LABEL = "verification-failed"
INCONCLUSIVE_LABEL = "needs-human"
INVALID_LABEL = "verification-config-invalid"
REOPEN_FAILED_LABEL = "reopen-failed"
#: An open action item past its SLA, once reminded.
OVERDUE_LABEL = "overdue"

#: Closing reasons that are not a fix: the ticket is done but nothing was fixed, so nothing is verified.
JIRA_NOT_A_FIX = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined")
GITHUB_NOT_A_FIX = ("not_planned", "duplicate")

#: Days each priority may stay open, and the priority of a ticket that names none.
SLA_DAYS: Mapping[str, int] = MappingProxyType({"P0": 3, "P1": 7, "P2": 30, "P3": 90})
PRIORITY = "P2"
#: Jira's default priority scheme, by name (a number in the setting is a priority id instead).
JIRA_PRIORITIES: Mapping[str, str] = MappingProxyType({"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"})
JIRA_ISSUE_TYPE = "Bug"
GITHUB_API_URL = "https://api.github.com"

#: The run.
LOOKBACK_DAYS = 90
CONCURRENCY = 8
#: The most queries (and tracker requests) a run sends at once: the bound of VERIFIER_CONCURRENCY.
MAX_CONCURRENCY = 64
#: Connections each HTTP session keeps for reuse: the run's pool at the largest concurrency, plus its own thread
#: (the listing). urllib3 opens them only when needed, so a larger pool than the run uses costs nothing; a smaller
#: one opens and drops a connection per request beyond it.
POOL_SIZE = MAX_CONCURRENCY + 1
MAX_WRITES = 200
TIMEOUT_SECONDS = 30.0
#: Seconds after the start of a run when no new measurement starts and the run writes what is decided (0: none).
#: The chart's default Job deadline (activeDeadlineSeconds) is 3600: this leaves ten minutes to write.
RUN_DEADLINE_SECONDS = 3000
PUSHGATEWAY_JOB = "action-item-verifier"
#: The `service` of a ticket whose incident context names none (Pushgateway breakdown).
UNKNOWN_SERVICE = "unknown"
#: Where a Kubernetes secret volume is mounted, one file per secret variable.
SECRETS_DIR = "/var/run/secrets/action-item-verifier"
