"""The sandboxes' HTTP layer, as a real server behaves: a request cut off before its whole body arrived (the
client killed mid-write) is never handled, so it stores nothing and is never checked against the contract."""

from __future__ import annotations

import socket
import time

from verifier_sandbox.jira import JiraSandbox


def test_a_request_cut_off_mid_body_is_not_handled() -> None:
    with JiraSandbox("cloud") as jira:
        host, port = jira.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(
                b"POST /rest/api/2/issue/OPS-1/comment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n" + b'{"body": "cut'
            )
        time.sleep(0.5)  # the handler thread reads until the connection closes
        assert jira.requests == []
