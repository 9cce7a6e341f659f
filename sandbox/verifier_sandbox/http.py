"""The shared machinery of the sandbox trackers: an in-process HTTP server that records, routes and misbehaves.

A sandbox is a `ThreadingHTTPServer` on 127.0.0.1 in a daemon thread. Every request is recorded (method, path,
query, headers, body) before anything else happens; then, in order:

1. the configured latency is slept;
2. an injected fault whose matcher accepts the request answers it (429s, 5xx bursts, ...);
3. the subclass authenticates the request (`authenticate` returns an error reply or None);
4. the route table dispatches to a handler, which answers or raises `HttpError`.

Every exchange (request + reply) is then handed to the `on_exchange` callbacks; contract tests use that hook to
validate both halves against the trackers' OpenAPI descriptions.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it. Header names are lower-cased."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, or None."""
        values = self.params(name)
        return values[-1] if values else None

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def json(self) -> Any:
        """The body parsed as JSON; `HttpError` 400 when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HttpError(Reply.json(400, {"message": f"body is not JSON: {exc}"})) from exc

    @property
    def is_write(self) -> bool:
        return self.method not in READ_METHODS


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers (name, value) and the raw body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
        body = json.dumps(payload).encode()
        return cls(status, body, (("Content-Type", "application/json;charset=UTF-8"), *headers))

    @classmethod
    def empty(cls, status: int = 204, headers: Iterable[tuple[str, str]] = ()) -> Reply:
        return cls(status, b"", tuple(headers))

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").lower()

    def with_headers(self, extra: Iterable[tuple[str, str]]) -> Reply:
        return Reply(self.status, self.body, (*self.headers, *extra))

    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None


class HttpError(Exception):
    """Raised by a handler to answer with `reply` instead of returning normally."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply


@dataclass(frozen=True)
class Exchange:
    """A request and the reply it got. `injected` is True when a fault hook produced the reply."""

    request: RecordedRequest
    reply: Reply
    injected: bool = False


RequestMatcher = Callable[[RecordedRequest], bool]
Handler = Callable[[RecordedRequest, Mapping[str, str]], Reply]


@dataclass
class _Fault:
    reply: Callable[[], Reply]
    remaining: int
    match: RequestMatcher | None


@dataclass
class Faults:
    """Misbehaviour to inject: the next N matching requests answer with a canned reply; latency per request."""

    latency_seconds: float = 0.0
    _queue: list[_Fault] = field(default_factory=list)
    _after: list[_Fault] = field(default_factory=list)  # answered after the request was processed
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(
        self, reply: Reply | Callable[[], Reply], *, times: int = 1, match: RequestMatcher | None = None
    ) -> None:
        """Answer the next `times` requests accepted by `match` (all requests when None) with `reply`."""
        factory: Callable[[], Reply] = reply if callable(reply) else (lambda: reply)
        with self._lock:
            self._queue.append(_Fault(factory, times, match))

    def inject_after(
        self, reply: Reply | Callable[[], Reply], *, times: int = 1, match: RequestMatcher | None = None
    ) -> None:
        """Process the next `times` requests accepted by `match` as usual, then answer `reply` instead (`DROP`:
        close the connection without an answer), so the client cannot know the request took effect."""
        factory: Callable[[], Reply] = reply if callable(reply) else (lambda: reply)
        with self._lock:
            self._after.append(_Fault(factory, times, match))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._after.clear()
            self.latency_seconds = 0.0

    def take(self, request: RecordedRequest, *, after: bool = False) -> Reply | None:
        with self._lock:
            queue = self._after if after else self._queue
            for fault in queue:
                if fault.remaining > 0 and (fault.match is None or fault.match(request)):
                    fault.remaining -= 1
                    return fault.reply()
            queue[:] = [f for f in queue if f.remaining > 0]
        return None

    @property
    def pending(self) -> int:
        """How many injected replies are still waiting to be sent."""
        with self._lock:
            return sum(f.remaining for f in (*self._queue, *self._after))


#: An injected "reply" that closes the connection without answering (see `Faults.inject_after`).
DROP = Reply(0)
#: An injected "reply" that sends the real answer's status, headers and first half of its body, then closes the
#: connection: an answer broken off on the way (see `SandboxServer.cut_short`).
CUT = Reply(1)


class _Dropped(Exception):
    """The connection is to be closed without an answer."""


class _Cut(Exception):
    """The connection is to be closed halfway through the body of `reply`."""

    def __init__(self, reply: Reply) -> None:
        super().__init__("cut")
        self.reply = reply


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


class SandboxServer:
    """Base of the sandbox trackers. Subclasses register routes and implement `authenticate` and `error`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = Faults()
        self.hook_errors: list[str] = []
        self._routes: list[_Route] = []
        self._requests: list[RecordedRequest] = []
        self._hooks: list[Callable[[Exchange], None]] = []
        self.connections = 0  # TCP connections accepted: a client's pool reuses them, a small one opens more
        self._lock = threading.RLock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._scheme = "http"

    # -- lifecycle -------------------------------------------------------------------------------------------
    @property
    def root(self) -> str:
        """scheme://host:port of the server, without any base path."""
        host, port = self._httpd.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}"

    def use_tls(self, context: ssl.SSLContext) -> Self:
        """Serve HTTPS with `context` (a certificate of a private CA, as many companies' servers have); before
        `start`. The handshake happens in the request's thread, so a client that refuses the certificate holds
        up no one."""
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._scheme = "https"
        report = self._httpd.handle_error

        def handle_error(request: Any, address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ssl.SSLError):  # a client refusing the certificate: expected
                report(request, address)

        self._httpd.handle_error = handle_error  # type: ignore[method-assign,assignment]
        return self

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name=type(self).__name__)
            self._thread.daemon = True
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- observation -----------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def writes(self) -> list[RecordedRequest]:
        """The requests that could change state (anything but GET/HEAD/OPTIONS)."""
        return [r for r in self.requests if r.is_write]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def on_exchange(self, callback: Callable[[Exchange], None]) -> Callable[[], None]:
        """Call `callback` after every exchange; returns a function that removes it again.

        A callback that raises does not break the server: the error is appended to `hook_errors`.
        """
        with self._lock:
            self._hooks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._hooks:
                    self._hooks.remove(callback)

        return remove

    # -- faults ----------------------------------------------------------------------------------------------
    def fail(self, times: int = 1, *, status: int = 500, match: RequestMatcher | None = None) -> None:
        """Answer the next `times` matching requests with a server error."""
        self.faults.inject(lambda: self.error(status, "sandbox: injected failure"), times=times, match=match)

    def fail_after_processing(
        self, times: int = 1, *, status: int | None = 502, match: RequestMatcher | None = None
    ) -> None:
        """Process the next `times` matching requests, then answer a server error (`status=None`: drop the
        connection): a write that took effect although the client saw it fail."""
        reply = DROP if status is None else self.error(status, "sandbox: failed after processing")
        self.faults.inject_after(reply, times=times, match=match)

    def cut_short(self, times: int = 1, *, match: RequestMatcher | None = None) -> None:
        """Process the next `times` matching requests, then send the answer's status line, headers and only the
        first half of its body before closing the connection (the Content-Length promises the whole)."""
        self.faults.inject_after(CUT, times=times, match=match)

    def set_latency(self, seconds: float) -> None:
        self.faults.latency_seconds = seconds

    # -- for subclasses --------------------------------------------------------------------------------------
    def route(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append(_Route(method.upper(), _compile(template), handler))

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        """An error reply when the request's credentials are missing or wrong; None when they are fine."""
        return None

    def error(self, status: int, message: str) -> Reply:
        """An error reply in the tracker's own format."""
        return Reply.json(status, {"message": message})

    def decorate(self, request: RecordedRequest, reply: Reply) -> Reply:
        """A hook to add headers every reply carries (rate-limit counters, ...)."""
        return reply

    def strip_base(self, path: str) -> str | None:
        """The path the routes see; None when the path lies outside the server's base path."""
        return path

    # -- the request pipeline --------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        request = RecordedRequest(
            method=method.upper(),
            path=parts.path,
            query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )
        with self._lock:
            self._requests.append(request)
        if self.faults.latency_seconds > 0:
            time.sleep(self.faults.latency_seconds)
        injected = self.faults.take(request)
        reply = injected if injected is not None else self._answer(request)
        if injected is None and (after := self.faults.take(request, after=True)) is not None:
            if after is DROP:
                raise _Dropped
            if after is CUT:
                raise _Cut(self.decorate(request, reply))
            reply, injected = after, after
        reply = self.decorate(request, reply)
        self._notify(Exchange(request, reply, injected is not None))
        return reply

    def _answer(self, request: RecordedRequest) -> Reply:
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        path = self.strip_base(request.path)
        if path is None:
            return self.error(404, "Not Found")
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            try:
                with self._lock:
                    return route.handler(request, match.groupdict())
            except HttpError as exc:
                return exc.reply
        if allowed:
            return self.error(405, f"method {request.method} not allowed here")
        return self.error(404, "Not Found")

    def _notify(self, exchange: Exchange) -> None:
        with self._lock:
            hooks = list(self._hooks)
        for hook in hooks:
            try:
                hook(exchange)
            except Exception as exc:  # a broken hook must not take the server down
                self.hook_errors.append(f"{type(exc).__name__}: {exc}")


def int_param(value: Any, default: int, server: SandboxServer, *, status: int = 400) -> int:
    """A number from a query parameter or body field; the tracker's error reply when it is not one."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise HttpError(server.error(status, f"'{value}' is not a valid number.")) from exc


def json_object(value: Any, server: SandboxServer) -> dict[str, Any]:
    """`value` when it is a JSON object; the tracker's 400 reply otherwise."""
    if not isinstance(value, dict):
        raise HttpError(server.error(400, "Expected a JSON object."))
    return value


def _handler_class(owner: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tracker-sandbox"
        disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms stalls

        def setup(self) -> None:
            super().setup()
            with owner._lock:
                owner.connections += 1

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:  # the client went away mid-request: a real server never handles it either
                self.close_connection = True
                return
            cut = False
            try:
                reply = owner.handle(self.command, self.path, dict(self.headers.items()), body)
            except _Dropped:
                self.close_connection = True
                return
            except _Cut as broken:
                reply, cut = broken.reply, True
            except Exception as exc:  # a sandbox bug: answer 500 rather than hang the client
                reply = Reply.json(500, {"message": f"sandbox bug: {type(exc).__name__}: {exc}"})
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if cut:
                self.wfile.write(reply.body[: len(reply.body) // 2])
                self.close_connection = True
            elif self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return _Handler
