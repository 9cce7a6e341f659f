"""A metrics backend that answers hostilely: a loopback HTTP proxy in front of a real Prometheus that forwards
every request, except the queries a rule matches, which it answers itself — a byte a second, nested 200,000 deep,
or tens of megabytes of real-looking series, streamed so the proxy itself stays small."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

Body = Callable[[], Iterator[bytes]]


@dataclass
class Rule:
    match: str  # a substring of the PromQL
    length: int  # Content-Length sent with the headers
    body: Body  # the chunks, written as they come
    pause: float = 0.0  # seconds between chunks


def trickle(text: bytes) -> Rule:
    """The answer `text`, one byte a second."""
    return Rule("", len(text), lambda: (text[i : i + 1] for i in range(len(text))), pause=1.0)


def deep(levels: int = 200_000) -> bytes:
    return b'{"status":"success","data":{"resultType":"vector","result":' + b"[" * levels + b"]" * levels + b"}}"


def many_series(total_bytes: int, label_bytes: int = 200) -> tuple[int, Body]:
    """A vector answer of about `total_bytes`: one series per distinct `pod` label (high cardinality)."""
    head = b'{"status":"success","data":{"resultType":"vector","result":['
    tail = b"]}}"
    pad = "x" * label_bytes

    def item(n: int) -> bytes:
        return json.dumps({"metric": {"pod": f"pod-{n:09d}-{pad}"}, "value": [1.7e9, "0.05"]}).encode()

    size = len(item(0)) + 1
    count = max(1, (total_bytes - len(head) - len(tail)) // size)
    length = len(head) + len(tail) + count * size - 1

    def chunks() -> Iterator[bytes]:
        yield head
        for start in range(0, count, 1000):
            yield b",".join(item(n) for n in range(start, min(count, start + 1000))) + (
                b"," if start + 1000 < count else b""
            )
        yield tail

    return length, chunks


class HostileBackend:
    """Forwards to `upstream`; a query containing a rule's `match` gets the rule's answer instead."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.queries: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._serve(self, b"")

            def do_POST(self) -> None:
                owner._serve(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def log_message(self, *_: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler, form: bytes) -> None:
        parts = urlsplit(handler.path)
        params = parse_qs(parts.query) | parse_qs(form.decode())
        query = (params.get("query") or [""])[0]
        self.queries.append(query)
        rule = next((r for r in self.rules if r.match in query), None)
        if rule is None or not parts.path.startswith("/api/v1/query"):
            upstream = requests.request(
                handler.command,
                self.upstream + handler.path,
                data=form or None,
                timeout=30,
                headers={"Content-Type": handler.headers.get("Content-Type", "")} if form else None,
            )
            self._reply(handler, upstream.status_code, len(upstream.content), iter([upstream.content]), 0.0)
            return
        self._reply(handler, 200, rule.length, rule.body(), rule.pause)

    def _reply(
        self, handler: BaseHTTPRequestHandler, status: int, length: int, chunks: Iterator[bytes], pause: float
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(length))
            handler.end_headers()
            for chunk in chunks:
                handler.wfile.write(chunk)
                handler.wfile.flush()
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass
