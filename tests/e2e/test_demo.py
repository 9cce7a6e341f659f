import subprocess
import sys


def test_demo_shows_every_verdict_and_the_second_run_writes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    first, second = out.split("Second run")
    for verdict in ("VERIFIED", "FAILED", "INCONCLUSIVE", "PENDING", "INVALID", "SKIPPED"):
        assert f"  {verdict} " in first, verdict
    assert "reopen" in first
    assert "histogram_quantile(0.99" in first
    assert "action-item-verifier result v1; verdict=FAILED" in first
    assert "tracker writes in the second run: 0" in second
    assert "Traceback" not in done.stderr
