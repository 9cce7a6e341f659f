"""Every default the tool ships with, written once. Settings, the run's options, the domain and the adapters read
them from here, so changing one (a label name, an SLA) is a one-line change."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

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

#: The priorities of an action item, most urgent first (the seed's).
PRIORITIES = ("P0", "P1", "P2", "P3")
#: Days each priority may stay open, and the priority of a ticket that names none.
SLA_DAYS: Mapping[str, int] = MappingProxyType(dict(zip(PRIORITIES, (3, 7, 30, 90), strict=True)))
PRIORITY = PRIORITIES[2]
#: Jira's default priority scheme, by name (a number in the setting is a priority id instead).
JIRA_PRIORITIES: Mapping[str, str] = MappingProxyType(
    dict(zip(PRIORITIES, ("Highest", "High", "Medium", "Low"), strict=True))
)
JIRA_ISSUE_TYPE = "Bug"
GITHUB_API_URL = "https://api.github.com"
#: Where Jira Cloud's API is reached with a scoped API token: `<gateway>/ex/jira/<cloud id>/rest/api/...`.
JIRA_API_GATEWAY_URL = "https://api.atlassian.com"
#: GitHub refuses a label name longer than this (422 "name is too long (maximum is 50 characters)").
GITHUB_LABEL_MAX = 50
#: `doctor` warns when a fine-grained GitHub token expires within this many days.
TOKEN_EXPIRY_WARNING_DAYS = 14

#: The run.
LOOKBACK_DAYS = 90
#: Seconds between scheduled runs (the chart's schedule, every six hours): the dry run's first-run plan.
RUN_INTERVAL_SECONDS = 6 * 3600
#: Seconds a window's end must be old before it is judged: OTLP batches arrive late, samples out of order.
SETTLE_SECONDS = 300
#: What a later re-check (`recheck_after`) that finds a regression does besides its comment and label: `comment`
#: (nothing more) or `reopen`.
RECHECK_ACTION: Final = "comment"
#: Enough data for a verdict (VERIFIED or FAILED): the share of steps with data in every-step mode, and the events
#: a quantile needs in the window (a config's `min_events` overrides it). 100 observations put a p99 on the top one.
MIN_COVERAGE_PERCENT = 90.0
MIN_EVENTS = 100
#: The most conditions one config may hold (`conditions:`): each is measured, so each costs queries on every run.
MAX_CONDITIONS = 10
CONCURRENCY = 8
#: The most queries (and tracker requests) a run sends at once: the bound of VERIFIER_CONCURRENCY.
MAX_CONCURRENCY = 64
#: Connections each HTTP session keeps for reuse: the run's pool at the largest concurrency, plus its own thread
#: (the listing). urllib3 opens them only when needed, so a larger pool than the run uses costs nothing; a smaller
#: one opens and drops a connection per request beyond it.
POOL_SIZE = MAX_CONCURRENCY + 1
MAX_WRITES = 200
#: The total deadline of one request: connecting, the headers and the whole body (`verifier.adapters.http`).
TIMEOUT_SECONDS = 30.0
#: A metrics query that failed on the way (no connection, an overloaded backend's or proxy's status) is sent
#: again at most this many times, the waits growing from `METRICS_BACKOFF_SECONDS` (urllib3's Retry backoff).
METRICS_RETRIES = 3
METRICS_BACKOFF_SECONDS = 0.5
#: The largest answer read from the metrics backend (queries are aggregated, so a due ticket's answer is small)
#: and from a tracker (a page of 100 tickets with their changelogs and inline comments).
METRICS_MAX_ANSWER_BYTES = 8 * 1024 * 1024
TRACKER_MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: The Pushgateway answers a push with an empty body or a short error.
PUSHGATEWAY_MAX_ANSWER_BYTES = 1024 * 1024
#: How deeply any answer's JSON may nest (the APIs the tool reads nest under 20 levels).
MAX_JSON_DEPTH = 64
#: Tracker requests (`verifier.adapters.retry`): tries in all, the first included, and the first backoff wait
#: (then doubling); a wait the server asks for beyond the cap fails the request instead of sleeping.
TRACKER_ATTEMPTS = 4
TRACKER_BACKOFF_SECONDS = 1.0
TRACKER_MAX_RETRY_WAIT_SECONDS = 60.0
#: Jira's search page (the tickets one request lists).
JIRA_PAGE_SIZE = 100
#: GitHub: retries after the first try, and the longest rate-limit reset waited for (a secondary limit that names
#: no wait waits at most GITHUB_SECONDARY_WAIT_SECONDS).
GITHUB_RETRIES = 4
GITHUB_MAX_RATE_LIMIT_WAIT_SECONDS = 300.0
GITHUB_SECONDARY_WAIT_SECONDS = 60.0
#: GitHub's secondary limits on content-creating requests (80 a minute, 500 an hour), writes at least a second
#: apart, and the longest the pacer waits before the run stops writing (`verifier.adapters.github.pacing`).
GITHUB_WRITES_PER_MINUTE = 80
GITHUB_WRITES_PER_HOUR = 500
GITHUB_WRITE_INTERVAL_SECONDS = 1.0
GITHUB_MAX_PACING_WAIT_SECONDS = 900.0
#: The most pages one tracker listing reads (100 tickets or comments a page); a listing past it, or one whose page
#: or page token comes back again, stops with an error naming the cap.
MAX_PAGES = 1000
#: Seconds after the start of a run when no new measurement starts and the run writes what is decided (0: none).
#: The chart's default Job deadline (activeDeadlineSeconds) is 3600: this leaves ten minutes to write.
RUN_DEADLINE_SECONDS = 3000
PUSHGATEWAY_JOB = "action-item-verifier"
#: The `service` of a ticket whose incident context names none (Pushgateway breakdown).
UNKNOWN_SERVICE = "unknown"
#: Where a Kubernetes secret volume is mounted, one file per secret variable.
SECRETS_DIR = "/var/run/secrets/action-item-verifier"
