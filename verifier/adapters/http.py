"""One guarded way to read an HTTP answer, for every adapter: a total deadline, a size cap and a JSON depth cap.

requests' `timeout` bounds connecting and each wait for bytes, but it restarts on every byte: a backend that
trickles its answer a byte a second is never timed out, and nothing stops an answer of gigabytes or JSON nested
200,000 deep (Python's parser then raises RecursionError). Every HTTP exchange of the tool therefore goes through
`GuardedAdapter`, a requests *transport adapter* (requests' public extension point for how a request is sent,
`Session.mount`). It asks urllib3 for the answer unread, reads the body in chunks with the socket's timeout set
to what is left of the deadline before each read, stops past the byte cap, checks how deeply the JSON nests, and
hands requests the body already read; callers read `response.json()` as always.

How each client gets it, through public hooks only (no library's private parts are patched):
- Prometheus, Jira, the Pushgateway: sessions of our own, on which the adapter is mounted.
- PyGithub: `Requester.injectConnectionClasses` (public) with connection classes that mount it on the session
  PyGithub builds for its connection.

The deadline of one request is the `timeout` it is sent with (a number: connect + headers + the whole body; a
(connect, read) pair: their sum), counted from the start of the attempt that answered: a retry urllib3 makes
inside one send (the metrics adapter's `Retry` calls `restart_deadline` after its wait) gets a deadline of its own.
The status line and headers are waited for under a watchdog that shuts the socket at the deadline (http.client
reads them under a read timeout that restarts on every byte), through requests' `init_poolmanager` hook and
urllib3's public `ConnectionCls` of a pool. Refusals are `requests` exceptions, so the adapters' error translation and
retry rule see them like any failed exchange: `DeadlinePassed` is a timeout, `AnswerTooLarge` and
`AnswerTooDeep` are not retried. Each message names the cap.

It is also where the run's write budget is honoured, once for every tracker adapter: inside a write call the run
charges (`verifier.ports.WRITE_GATE` set), each write request (any method but GET, HEAD and OPTIONS; a GraphQL
query is a read) is charged before it is sent, and one the budget has no room for is not sent (`WriteRefused`, not
retried). An adapter cannot forget it: its requests cannot reach the tracker any other way.

It also holds `OriginBoundSession`: credentials and tenant headers stay with the origin they were set for
(requests drops only `Authorization` on a redirect to another host), and the configured CA bundle is the one
TLS uses, whatever the environment says.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import TimeoutError as _Urllib3Timeout

from verifier import defaults
from verifier.adapters.watchdog import arm
from verifier.ports import WRITE_GATE

__all__ = [
    "AnswerRefused",
    "AnswerTooDeep",
    "AnswerTooLarge",
    "DeadlinePassed",
    "GuardedAdapter",
    "OriginBoundSession",
    "WriteRefused",
    "guard",
    "guard_pygithub",
    "restart_deadline",
    "too_deep",
]

_CHUNK = 64 * 1024
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included (linear: no backtracking)
_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class AnswerRefused(requests.exceptions.RequestException):
    """An answer the tool will not read: its message names the cap."""


class AnswerTooLarge(AnswerRefused):
    pass


class WriteRefused(AnswerRefused):
    """A write request the tool will not send: the run's write budget has no room for it (or the run stopped)."""


class AnswerTooDeep(AnswerRefused):
    pass


class DeadlinePassed(requests.exceptions.ReadTimeout):
    """The whole answer did not arrive within the request's deadline."""


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB"


def too_deep(body: bytes, max_depth: int) -> bool:
    """Whether JSON text nests lists and objects deeper than `max_depth`. Linear in the text, and never recursive:
    strings are blanked out and everything but brackets dropped; each pass then removes the innermost pairs (one
    level), and what is left after `max_depth` passes is counted."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    passes = 0
    while brackets and passes < max_depth:
        shorter = _PAIR.sub(b"", brackets)
        if shorter == brackets:  # not JSON: what is left is counted as it stands
            break
        brackets, passes = shorter, passes + 1
    if not brackets:
        return False
    return passes + max(accumulate(1 if c in b"[{" else -1 for c in brackets)) > max_depth


def is_write(request: requests.PreparedRequest) -> bool:
    """Whether a request may change the tracker: any method but GET, HEAD and OPTIONS, except a GraphQL query (a
    POST that only reads; a body that is not plainly a query counts as a write)."""
    if (request.method or "GET").upper() in ("GET", "HEAD", "OPTIONS"):
        return False
    if not urlsplit(request.url or "").path.endswith("/graphql"):
        return True
    body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
    try:
        query = json.loads(body).get("query")
    except (ValueError, AttributeError):
        return True
    return not (isinstance(query, str) and re.match(r"\s*(query\b|\{)", query))


class GuardedAdapter(HTTPAdapter):
    """A transport adapter that reads every answer whole, under the request's deadline and the caps."""

    def __init__(
        self,
        *,
        max_bytes: int = defaults.TRACKER_MAX_ANSWER_BYTES,
        max_depth: int = defaults.MAX_JSON_DEPTH,
        what: str = "the answer",
        **kwargs: Any,
    ) -> None:
        self.max_bytes, self.max_depth, self.what = max_bytes, max_depth, what
        self._pool_keys: dict[tuple[str, str, int | None, Any, Any], Any] = {}  # (host params, pool kwargs)
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:  # requests' private TypedDicts
        """requests' documented hook, its answer kept per origin, CA bundle and client certificate: requests
        parses the URL and asks the file system whether the bundle is a directory on every request (#26)."""
        if not isinstance(verify, bool | str) or not isinstance(cert, str | tuple | None):
            return super().build_connection_pool_key_attributes(request, verify, cert)
        key = (*origin(request.url or ""), verify, cert)
        found: Any = self._pool_keys.get(key)
        if found is None:
            found = super().build_connection_pool_key_attributes(request, verify, cert)
            if len(self._pool_keys) < 64:  # a session talks to a few origins
                self._pool_keys[key] = found
        return dict(found[0]), dict(found[1])

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """requests' documented hook for subclasses: pools whose connections wait for an answer's headers only
        until the request's deadline (`_DeadlineHeaders`)."""
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedPool, "https": _GuardedTLSPool}

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        gate = WRITE_GATE.get()
        if gate is not None and is_write(request) and not gate.charge():
            raise WriteRefused("the write budget has no room for this write request: it was not sent", request=request)
        seconds = _total(timeout)
        _attempt.seconds = seconds
        restart_deadline()
        response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        deadline = _attempt.started + seconds  # from the start of the attempt that answered (see restart_deadline)
        raw = response.raw
        try:
            body = self._read(response, deadline, seconds)
        except BaseException:
            response.close()  # a connection left half-read cannot serve another request
            raise
        raw.release_conn()  # read to the end: back to the pool, kept alive
        if too_deep(body, self.max_depth):  # any body: an error page may be JSON whatever its Content-Type
            message = f"{self.what} nests JSON deeper than the cap of {self.max_depth} levels"
            raise AnswerTooDeep(message, response=response)
        response.raw = io.BytesIO(body)  # requests reads `content` from here: already whole, so at once
        return response

    def _read(self, response: requests.Response, deadline: float, seconds: float) -> bytes:
        raw = response.raw
        connection = getattr(raw, "connection", None)
        sock: socket.socket | None = getattr(connection, "sock", None)
        parts: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlinePassed(f"{self.what} did not arrive whole within {seconds:g}s", response=response)
            if sock is not None:
                sock.settimeout(left)  # the next wait for bytes ends at the deadline, not a read timeout later
            try:
                chunk = raw.read1(_CHUNK, decode_content=True)
            except (TimeoutError, requests.exceptions.Timeout, _Urllib3Timeout) as error:
                message = f"{self.what} did not arrive whole within {seconds:g}s"
                raise DeadlinePassed(message, response=response) from error
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > self.max_bytes:
                raise AnswerTooLarge(
                    f"{self.what} is larger than the cap of {_megabytes(self.max_bytes)}", response=response
                )
            parts.append(chunk)


_attempt = threading.local()  # when the current thread's request started its latest attempt


def restart_deadline() -> None:
    """Start the deadline of the current thread's request again: urllib3 retries a request inside one `send`
    (Prometheus' `Retry`), and each attempt gets the whole deadline, counted after its retry wait."""
    _attempt.started = time.monotonic()


class _DeadlineHeaders:
    """The wait for an answer's status line and headers ends at the request's deadline: http.client reads them
    under a read timeout that restarts on every byte, so a watchdog shuts the socket down when the deadline passes,
    and the wait ends as a read timeout."""

    sock: socket.socket | None

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        seconds = getattr(_attempt, "seconds", None)
        sock = self.sock
        if seconds is None or sock is None:
            return super().getresponse(*args, **kwargs)  # type: ignore[misc]
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        watchdog = arm(_attempt.started + seconds - time.monotonic(), stop)  # one thread keeps every deadline
        try:
            response = super().getresponse(*args, **kwargs)  # type: ignore[misc]
        except Exception:
            if fired.is_set():
                raise TimeoutError(f"no answer's headers within {seconds:g}s") from None
            raise
        finally:
            watchdog.disarm()
        if fired.is_set():  # http.client takes the end of the stream for the end of the headers
            response.close()
            raise TimeoutError(f"no answer's headers within {seconds:g}s")
        return response


class _GuardedConnection(_DeadlineHeaders, HTTPConnection):
    pass


class _GuardedTLSConnection(_DeadlineHeaders, HTTPSConnection):
    pass


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedTLSConnection


def _total(timeout: float | tuple[float, float] | tuple[float, None] | None) -> float:
    if isinstance(timeout, tuple):
        return sum(part for part in timeout if part is not None) or defaults.TIMEOUT_SECONDS
    return float(timeout) if timeout else defaults.TIMEOUT_SECONDS


def guard(session: requests.Session, adapter: GuardedAdapter) -> requests.Session:
    """Mount `adapter` on `session` for http and https, so every request of the session is guarded."""
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def guard_pygithub() -> None:
    """Make every PyGithub connection guarded (a process-wide setting of PyGithub's, set once; idempotent)."""
    from github.Requester import Requester  # only GitHub runs pay for importing PyGithub

    Requester.injectConnectionClasses(*_pygithub_connections())


@functools.cache
def _pygithub_connections() -> tuple[type[Any], type[Any]]:
    """PyGithub's connection classes, sending through one guarded session per server.

    With injected classes PyGithub builds a connection object for every request and closes the one before (its
    `persist` is off for them), perhaps while another thread still reads from it: each object would open a TCP
    connection of its own and could cut a neighbour's answer. So the objects share one session (and its pool) per
    server, pool size and retry, and closing one leaves the shared session open for the requests in flight."""
    from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass

    sessions: dict[tuple[str, str, int, int, str], requests.Session] = {}
    lock = threading.Lock()

    def shared(connection: Any) -> None:
        key = (connection.protocol, connection.host, connection.port, connection.pool_size, repr(connection.retry))
        with lock:
            session = sessions.get(key)
            if session is None:
                adapter = GuardedAdapter(
                    what="GitHub's answer",
                    max_retries=connection.retry,
                    pool_connections=connection.pool_size,
                    pool_maxsize=connection.pool_size,
                )
                session = guard(connection.session, adapter)
                sessions[key] = session
        if connection.session is not session:
            connection.session.close()  # the one PyGithub made for this object: never used
            connection.session = session

    class GuardedHTTP(HTTPRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            shared(self)

        def close(self) -> None:
            """The shared session stays open: other requests may be in flight on it."""

    class GuardedHTTPS(HTTPSRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            shared(self)

        def close(self) -> None:
            """The shared session stays open: other requests may be in flight on it."""

    return GuardedHTTP, GuardedHTTPS


# -- credentials stay with their origin -------------------------------------------------------------------------------
#: Stripped on every cross-origin redirect, whatever the settings say.
ALWAYS_SENSITIVE = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-scope-orgid"})


class _NoAuth(requests.auth.AuthBase):
    """No credentials (netrc has none for the origin): the request goes as it is."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_AUTH = _NoAuth()


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class OriginBoundSession(requests.Session):
    """Sends the session's secret headers only to the origin a request was first sent to."""

    def __init__(self, sensitive: Iterable[str] = ()) -> None:
        super().__init__()
        self.sensitive = ALWAYS_SENSITIVE | {name.lower() for name in sensitive}
        # The environment's proxies for each origin, read once: requests scans the whole environment twice for
        # every request (`get_environ_proxies`), about 0.1 ms each with 35 variables and more in a pod.
        self._environ_proxies: dict[tuple[str, str, int | None], dict[str, str]] = {}
        self._netrc: dict[tuple[str, str, int | None], tuple[str, str] | None] = {}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """The netrc file's credentials for each origin, read once: requests looks for the file (two stats) on
        every request that carries no credentials of its own (#26). A redirect reads it afresh (`rebuild_auth`)."""
        if self.trust_env and request.auth is None and self.auth is None and request.url:
            where = origin(str(request.url))
            if where not in self._netrc:
                self._netrc[where] = get_netrc_auth(str(request.url))
            request.auth = self._netrc[where] or _NO_AUTH
        return super().prepare_request(request)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """Called by requests for every redirect it follows, before the next request is sent."""
        first = response.history[0].request.url if response.history else response.request.url
        if prepared_request.url and first and origin(prepared_request.url) != origin(first):
            for name in [n for n in prepared_request.headers if n.lower() in self.sensitive]:
                del prepared_request.headers[name]
            return  # Basic auth is an Authorization header too: gone with the rest
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]  # unannotated in the stubs

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:  # requests-stubs' private `_Settings`
        """The configured `verify` (a CA bundle, or False) wins over the environment's: requests lets
        `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` replace a session's `verify` on every request that names none
        (psf/requests#3829), and many images set them, so a private CA's bundle would be ignored there. With no
        bundle configured, the environment's still applies."""
        text = url.decode() if isinstance(url, bytes) else url
        if self.trust_env and text and not proxies:  # requests' own merge, the proxies read once per origin
            where = origin(text)
            found = self._environ_proxies.get(where)
            if found is None:
                found = self._environ_proxies[where] = dict(get_environ_proxies(text))
            named = verify
            if named is True or named is None:
                named = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or named
            merge: Callable[[Any, Any], Any] = merge_setting  # unannotated in the stubs
            settings: Any = {
                # merge_setting's rule for two dicts, without its runtime Protocol checks (~25 us each, 3.11)
                "proxies": {k: v for k, v in {**(self.proxies or {}), **found}.items() if v is not None},
                "stream": merge(stream, self.stream),
                "verify": merge(named, self.verify),
                "cert": merge(cert, self.cert),
            }
        else:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and self.verify is not True:  # the request named none: the configured one
            settings["verify"] = self.verify
        return settings
