import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import RESOLVED, config, instant, judge, steps
from verifier.domain.measurement import Measurement, Series
from verifier.domain.planning import IncidentFacts, QueryPlan, plan
from verifier.domain.verdicts import Outcome

LATER = RESOLVED + timedelta(days=30)


def p(**fields: object) -> QueryPlan:
    fields.setdefault("metric", "http_server_request_duration_seconds")
    fields.setdefault("condition", "< 100ms p99")
    result = plan(config(**fields), RESOLVED, LATER, incident=IncidentFacts(actual_value=0.4, triggered_at=RESOLVED))
    assert isinstance(result, QueryPlan)
    return result


def test_held() -> None:
    v = judge(p(), instant(0.082))
    assert v.outcome is Outcome.VERIFIED and v.value == 0.082
    assert v.threshold is not None and v.threshold.value == pytest.approx(0.1)
    assert v.query == p().query and v.start == RESOLVED


def test_broke() -> None:
    assert judge(p(), instant(0.25)).outcome is Outcome.FAILED


def test_boundary_is_strict() -> None:
    assert judge(p(), instant(0.1)).outcome is Outcome.FAILED
    assert judge(p(condition="<= 100ms p99"), instant(0.1)).outcome is Outcome.VERIFIED


def test_no_data_and_nan_are_inconclusive() -> None:
    assert judge(p(), Measurement(())).outcome is Outcome.INCONCLUSIVE
    assert judge(p(), instant(math.nan)).outcome is Outcome.INCONCLUSIVE


def test_an_infinite_value_is_inconclusive_never_failed_or_verified() -> None:
    # +Inf under `<` used to be FAILED (a reopen on a division by zero), -Inf VERIFIED: neither is a measurement.
    for value, shown in ((math.inf, "+Inf"), (-math.inf, "-Inf")):
        v = judge(p(), instant(value))
        assert (v.outcome, v.reason) == (Outcome.INCONCLUSIVE, f"not a finite value: {shown} in the window")


def test_warnings_are_inconclusive_unless_accepted() -> None:
    m = Measurement(instant(0.05).series, warnings=("partial response: store A unavailable",))
    v = judge(p(), m)
    assert v.outcome is Outcome.INCONCLUSIVE and "partial response" in v.reason
    assert judge(p(), m, accept_warnings=True).outcome is Outcome.VERIFIED


def test_several_series_every_one_must_hold_and_worst_is_reported() -> None:
    v = judge(p(metric="queue_depth", condition="< 100"), instant(10, 150, 120))
    assert v.outcome is Outcome.FAILED and v.value == 150 and v.series == '{instance="1"}'
    v = judge(p(metric="availability_ratio", condition="> 99%"), instant(0.999, 0.995, 0.998))
    assert v.outcome is Outcome.VERIFIED and v.value == 0.995


def test_a_failing_series_beats_a_series_with_no_data() -> None:
    assert judge(p(metric="q", condition="< 1"), instant(5, math.nan)).outcome is Outcome.FAILED
    assert judge(p(metric="q", condition="< 1"), instant(0.5, math.nan)).outcome is Outcome.INCONCLUSIVE


def test_every_step_with_tolerance() -> None:
    plan_ = p(mode="every-step", tolerance="10%", window="50m")  # ten 5-minute steps
    ten_with_one_spike = steps(0.05, 0.05, 0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05)
    assert judge(plan_, ten_with_one_spike).outcome is Outcome.VERIFIED
    two_spikes = steps(0.05, 0.05, 0.5, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05)
    v = judge(plan_, two_spikes)
    assert v.outcome is Outcome.FAILED and v.value == 0.5 and "2 of 10 steps" in v.reason
    assert judge(p(mode="every-step", window="50m"), ten_with_one_spike).outcome is Outcome.FAILED


def test_every_step_reports_the_step_nearest_to_breaking_when_it_holds() -> None:
    v = judge(p(mode="every-step", window="15m"), steps(0.01, 0.09, 0.02))
    assert v.outcome is Outcome.VERIFIED and v.value == 0.09


def test_relative_to_recorded_value() -> None:
    plan_ = p(condition="< 50% of baseline p99")
    assert judge(plan_, instant(0.19)).outcome is Outcome.VERIFIED
    assert judge(plan_, instant(0.21)).outcome is Outcome.FAILED


def test_relative_to_measured_baseline() -> None:
    plan_ = p(condition="<= 0.5x baseline p99", baseline_window="1h")
    assert judge(plan_, instant(0.2), baseline=instant(0.4)).outcome is Outcome.VERIFIED
    v = judge(plan_, instant(0.3), baseline=instant(0.4))
    assert v.outcome is Outcome.FAILED and v.threshold is not None and v.threshold.value == pytest.approx(0.2)
    assert judge(plan_, instant(0.3), baseline=Measurement(())).outcome is Outcome.INCONCLUSIVE
    assert judge(plan_, instant(0.3)).outcome is Outcome.INCONCLUSIVE


_values = st.floats(allow_nan=True, allow_infinity=True)


@given(
    st.lists(st.lists(_values, min_size=0, max_size=5), max_size=5), st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
)
def test_verdict_is_total_and_never_claims_more_than_the_data(series: list[list[float]], op: str) -> None:
    m = Measurement(
        tuple(Series((("i", str(i)),), tuple((float(t), v) for t, v in enumerate(s))) for i, s in enumerate(series))
    )
    v = judge(p(metric="q", condition=f"{op} 1", mode="every-step"), m)
    assert v.outcome in (Outcome.VERIFIED, Outcome.FAILED, Outcome.INCONCLUSIVE)
    valid = [x for s in series for x in s if not math.isnan(x)]
    if v.outcome is Outcome.VERIFIED:
        assert all(s and any(not math.isnan(x) for x in s) for s in series) and valid
    if not valid:
        assert v.outcome is Outcome.INCONCLUSIVE


def test_tolerated_steps_are_named_in_a_verified_verdict() -> None:
    v = judge(
        p(mode="every-step", tolerance="10%", window="50m"),
        steps(0.05, 0.05, 0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05),
    )
    assert v.outcome is Outcome.VERIFIED
    assert "1 of 10 steps broke it, within the 10% tolerance" in v.reason
    assert v.value == 0.5


def test_measured_baseline_is_reported() -> None:
    v = judge(p(condition="<= 0.5x baseline p99", baseline_window="1h"), instant(0.1), baseline=instant(0.4))
    assert any(n.startswith("baseline 0.4 measured at") for n in v.notes)


def test_infos_are_notes_never_a_reason_for_no_verdict() -> None:
    info = "PromQL info: input to histogram_quantile needed to be fixed for monotonicity"
    answer = Measurement((Series((), ((0.0, 0.082),)),), infos=(info,))
    v = judge(p(), answer)
    assert v.outcome is Outcome.VERIFIED
    assert f"the backend noted: {info}" in v.notes
    warned = judge(p(), Measurement(answer.series, warnings=("partial response",), infos=(info,)))
    assert warned.outcome is Outcome.INCONCLUSIVE
