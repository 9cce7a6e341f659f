import io
import json

import structlog

from verifier import logs


def test_known_secrets_never_reach_a_log_line() -> None:
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    secrets = ["ghp_AAAABBBBCCCC1234", "jira-api-token-XYZ", "prom-bearer-987654"]
    logs.register_secrets(secrets)
    log = structlog.get_logger("test")
    log.info(
        "request",
        url="https://api.example/?token=ghp_AAAABBBBCCCC1234",
        headers={"Authorization": "Bearer prom-bearer-987654"},
    )
    log.error("failed", error=RuntimeError("401 for jira-api-token-XYZ"))
    try:
        raise ValueError("boom with ghp_AAAABBBBCCCC1234")
    except ValueError:
        log.exception("crashed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    for line in lines:
        json.loads(line)
        for secret in secrets:
            assert secret not in line
    assert "**********" in lines[0]


def test_console_format_for_terminals() -> None:
    stream = io.StringIO()
    logs.configure(json=False, stream=stream)
    structlog.get_logger("t").info("ticket", ticket="OPS-1", verdict="VERIFIED")
    assert "ticket" in stream.getvalue()
    assert "OPS-1" in stream.getvalue()
    assert not stream.getvalue().startswith("{")


def test_control_characters_in_an_event_reach_a_console_log_written_out() -> None:
    stream = io.StringIO()  # a plain stream: no RedactingStream after the processor
    logs.configure(json=False, stream=stream)
    hostile = "x\x1b]52;c;ZXZpbA==\x07y\x1b[2J\rz\x9b1m"
    structlog.get_logger("t").warning(f"backend said {hostile}", error=hostile)  # the console prints events raw
    line = stream.getvalue()
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line and "\x9b" not in line
    assert "x1b]52;c;ZXZpbA==" in line and "x9b1m" in line  # written out (the console renderer shows a repr)


def test_printable_writes_out_only_what_a_terminal_acts_on() -> None:
    from verifier.redaction import RedactingStream, printable

    assert printable("a\tb\nc\r\nd < 100ms é") == "a\tb\nc\r\nd < 100ms é"  # kept as it is
    assert printable("\x1b[31m\x00\x7f\x85\r") == "\\x1b[31m\\x00\\x7f\\x85\\r"
    out = io.StringIO()
    stream = RedactingStream(out)
    stream.write("one \x1b]8;;u\x07\r")  # a CR at the end of a write may still end a line...
    stream.write("\ntwo\rthree")
    stream.flush()
    assert out.getvalue() == "one \\x1b]8;;u\\x07\r\ntwo\\rthree"
