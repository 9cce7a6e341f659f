"""`fit_label`: GitHub's 50-character label limit (#24)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.domain.labels import fit_label


@given(st.text(min_size=0, max_size=200), st.integers(min_value=10, max_value=120))
def test_a_fitted_label_is_within_the_limit_and_kept_when_it_already_was(name: str, limit: int) -> None:
    fitted = fit_label(name, limit)
    assert len(fitted) <= limit
    if len(name) <= limit:
        assert fitted == name
    else:
        assert len(fitted) == limit
        assert fitted == name[: limit - 9] + "~" + hashlib.sha256(name.encode()).hexdigest()[:8]
        assert fit_label(name, limit) == fitted  # the same name, the same label: filing finds it again


@given(st.text(min_size=60, max_size=60), st.text(min_size=1, max_size=5))
def test_long_names_sharing_their_beginning_stay_apart(stem: str, tail: str) -> None:
    assert fit_label(stem + tail, 50) != fit_label(stem + tail + "x", 50)


def test_a_limit_with_no_room_for_the_hash_is_refused() -> None:
    assert fit_label("x" * 9, 9) == "x" * 9
    with pytest.raises(ValueError, match="no room"):
        fit_label("x" * 10, 9)


@pytest.mark.parametrize("tracker", ["github", "jira"])
def test_a_run_label_over_50_characters_is_refused_for_github_only(
    tracker: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from verifier.errors import SettingsError
    from verifier.settings import RunSettings, load

    monkeypatch.setenv("VERIFIER_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("VERIFIER_TRACKER", tracker)
    monkeypatch.setenv("VERIFIER_VERIFIED_LABEL", "v" * 50)
    assert load(RunSettings).verified_label == "v" * 50
    monkeypatch.setenv("VERIFIER_VERIFIED_LABEL", "v" * 51)
    if tracker == "jira":  # Jira takes 255
        assert load(RunSettings).verified_label == "v" * 51
        return
    with pytest.raises(SettingsError) as error:
        load(RunSettings)
    assert error.value.problems == ["VERIFIER_VERIFIED_LABEL has 51 characters: GitHub refuses labels over 50"]
