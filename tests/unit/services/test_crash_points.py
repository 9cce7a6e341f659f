"""A run cut after any one of a ticket's writes (a SIGKILL, a lost node, the tracker gone) leaves what the next
run finishes: the ticket ends as an uncut run leaves it, with no comment twice, and a third run writes nothing.

Every cut point is tried, for every verdict that writes and for a later re-check (#24) that reopens, on trackers
whose labels ride with nothing, with the comment (Jira's issue edit) or with the reopen (GitHub's issue update)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.unit.domain.test_recheck import BLOCK as RECHECKED
from tests.unit.domain.test_recheck import RESOLVED_DAYS, _result
from tests.unit.fakes import FakeMetrics, FakeTracker
from tests.unit.helpers import instant
from tests.unit.services.test_run import NOW, setup, ticket
from verifier.domain.measurement import Measurement
from verifier.errors import QueryRejected, TrackerError
from verifier.services.run import RunOptions, run

ANSWERS: dict[str, object] = {
    "held": instant(0.05),
    "regressed": instant(0.4),
    "locked": instant(0.4),  # a workflow with no way back: the note and its label instead of the reopen
    "no_data": Measurement(()),
    "invalid": QueryRejected("parse error at char 3"),
    # Verified 40 days ago with `recheck_after: 30d`; its count is now 50, over the condition's 10.
    "recheck_regressed": instant(50),
    "recheck_locked": instant(50),
}
OPTIONS = RunOptions(recheck_action="reopen")


class Always(dict[str, object]):
    """Whatever the query, one answer (a re-check's query is not this file's business)."""

    def __init__(self, answer: object) -> None:
        super().__init__()
        self.answer = answer

    def get(self, key: str, default: object = None) -> object:
        return self.answer


RIDES = [frozenset(), frozenset({"comment"}), frozenset({"reopen"})]


@dataclass
class CutAfter(FakeTracker):
    """Refuses every write once `cut` writes are stored, as a run killed right after the last of them would."""

    cut: int | None = None

    def _maybe_fail(self, kind: str, key: str) -> None:
        if self.cut is not None and len(self.writes) >= self.cut:
            raise TrackerError("cut here", ticket=key)
        super()._maybe_fail(kind, key)


def tracker_for(case: str, rides: frozenset[str]) -> CutAfter:
    listed = ticket("A-1")
    if case.startswith("recheck"):
        listed = ticket("A-1", resolved_days_ago=RESOLVED_DAYS, body=RECHECKED, comments=(_result(),))
    return CutAfter(tickets={"A-1": listed}, clock=NOW, labels_with=rides, reopenable=not case.endswith("locked"))


def metrics_for(case: str) -> FakeMetrics:
    if case.startswith("recheck"):
        return FakeMetrics(Always(ANSWERS[case]), events=None)  # type: ignore[arg-type]
    return setup(answer=ANSWERS[case])[1]


def end_state(tracker: FakeTracker) -> tuple[list[str], frozenset[str], str]:
    got = tracker.tickets["A-1"]
    return sorted(c.body for c in got.comments), got.labels, got.status


def test_every_cut_point_is_tried() -> None:
    """The locked ticket's writes (comment, label, note, its label) give four cut points without riding labels."""
    tracker = tracker_for("locked", frozenset())
    run(tracker, metrics_for("locked"), OPTIONS, NOW)
    assert [kind for _, kind, _ in tracker.writes] == ["comment", "label", "comment", "label"]
    rechecked = tracker_for("recheck_regressed", frozenset())
    run(rechecked, metrics_for("recheck_regressed"), OPTIONS, NOW)
    assert [kind for _, kind, _ in rechecked.writes] == ["comment", "label", "reopen"]
    assert "Re-check" in rechecked.writes[0][2]


@pytest.mark.parametrize("rides", RIDES, ids=lambda r: "+".join(sorted(r)) or "alone")
@pytest.mark.parametrize("case", list(ANSWERS))
def test_a_run_cut_after_any_write_is_finished_by_the_next_as_if_never_cut(case: str, rides: frozenset[str]) -> None:
    metrics = metrics_for(case)
    whole = tracker_for(case, rides)
    run(whole, metrics, OPTIONS, NOW)
    assert whole.writes, "every case here writes"
    for cut in range(len(whole.writes)):
        tracker = tracker_for(case, rides)
        tracker.cut = cut
        run(tracker, metrics, OPTIONS, NOW)
        assert len(tracker.writes) == cut, (case, cut)
        tracker.cut = None
        run(tracker, metrics, OPTIONS, NOW + timedelta(minutes=5))
        assert end_state(tracker) == end_state(whole), (case, cut, tracker.writes)
        settled = len(tracker.writes)
        run(tracker, metrics, OPTIONS, NOW + timedelta(minutes=10))
        assert len(tracker.writes) == settled, (case, cut, tracker.writes[settled:])
