"""`domain.alertmanager`: reading a webhook payload file (the rest is held through `parse_filing`, test_filing.py)."""

from __future__ import annotations

import pytest

from verifier.domain.alertmanager import alertmanager_payload
from verifier.errors import ConfigError


def test_a_payload_nested_past_the_parsers_depth_is_refused_with_its_whole_reason() -> None:
    """json's recursion message is 82 characters: the reason keeps it whole (it is cut at 120)."""
    with pytest.raises(ConfigError) as error:
        alertmanager_payload("alert.json", lambda path: "[" * 100_000)
    assert error.value.field == "incident.alertmanager"
    assert error.value.reason == (
        "alert.json is not JSON: maximum recursion depth exceeded while decoding a JSON array from a unicode string"
    )
