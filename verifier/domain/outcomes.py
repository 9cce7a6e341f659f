"""The words a run's results are told in: a leaf module that imports nothing of the tool (#23).

VERIFIED the fix held · FAILED it did not · INCONCLUSIVE no usable data · PENDING the window is not over ·
INVALID the config or its query is wrong · ERROR the backend or the tracker failed. `verdicts.py` says when each
applies; `protocol.py` writes them into result markers.
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
