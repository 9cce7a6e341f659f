"""The words a run's results are told in: a leaf module that imports nothing of the tool (#23).

VERIFIED the fix held · FAILED it did not · INCONCLUSIVE no usable data · PENDING the window is not over ·
INVALID the config or its query is wrong · ERROR the backend or the tracker failed. `verdicts.py` says when each
applies; `protocol.py` writes them into result markers. A run also says SKIPPED, ELSEWHERE or OVERDUE of a ticket
it did not judge (`NotJudged`): never a verdict, so a result marker cannot carry one.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    VERIFIED = "VERIFIED"
    FAILED = "FAILED"
    INCONCLUSIVE = "INCONCLUSIVE"
    PENDING = "PENDING"
    INVALID = "INVALID"
    ERROR = "ERROR"


class NotJudged(StrEnum):
    """What a run says of a ticket it did not judge."""

    SKIPPED = "SKIPPED"  # no config, not due to be judged, or left for the next run (budget, deadline, stop)
    ELSEWHERE = "ELSEWHERE"  # judged by someone else: never written to (`run --rejudge` judges it)
    OVERDUE = "OVERDUE"  # an open ticket past its SLA (the run's reminders)


#: What a run's result for one ticket says: a verdict, or why there is none.
RunOutcome = Outcome | NotJudged
#: The outcomes a run's judged-or-skipped tickets are counted by (OVERDUE is counted apart, per service).
TICKET_OUTCOMES: tuple[RunOutcome, ...] = (*Outcome, NotJudged.SKIPPED, NotJudged.ELSEWHERE)
