"""The product and the test servers are separate: the image's build context holds no server, and the demo says
what to install when the servers are missing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What marks a module as a test server: it serves HTTP.
SERVER = re.compile(r"^\s*(from http\.server import|import http\.server|class \w+\(SandboxServer\))", re.MULTILINE)


def test_the_image_build_context_holds_no_test_server() -> None:
    allowed = [line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] == "!"]
    assert sorted(allowed) == [
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "requirements-build.lock",
        "requirements.lock",
        "verifier",
    ]
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert {source for sources in copied for source in sources.split()} <= set(allowed)
    servers = [p for p in (ROOT / "verifier").rglob("*.py") if SERVER.search(p.read_text(encoding="utf-8"))]
    assert servers == []
    assert SERVER.search((ROOT / "sandbox" / "verifier_sandbox" / "http.py").read_text())  # the check can match


def test_the_demo_without_the_sandbox_names_what_to_install() -> None:
    probe = (
        "import sys; sys.modules['verifier_sandbox'] = None\nfrom verifier.cli import main\nsys.exit(main(['demo']))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "error: the demo needs the sandbox servers: pip install -e ./sandbox in the repository\n"
