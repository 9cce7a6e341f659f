"""A `requests.Session` whose credentials and tenant headers stay with the origin they were set for.

requests follows redirects and, on a redirect to another host, drops only `Authorization`: a metrics backend (or
anything in front of it) answering 307 to another origin would receive `X-Api-Key`, `X-Scope-OrgID` and every
other configured header. This session strips all of them whenever a redirect leaves the origin (scheme, host and
port) the request was first sent to; the redirect itself is still followed, without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import requests

#: Stripped on every cross-origin redirect, whatever the settings say.
ALWAYS_SENSITIVE = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-scope-orgid"})


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class OriginBoundSession(requests.Session):
    """Sends the session's secret headers only to the origin a request was first sent to."""

    def __init__(self, sensitive: Iterable[str] = ()) -> None:
        super().__init__()
        self.sensitive = ALWAYS_SENSITIVE | {name.lower() for name in sensitive}

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """Called by requests for every redirect it follows, before the next request is sent."""
        first = response.history[0].request.url if response.history else response.request.url
        if prepared_request.url and first and origin(prepared_request.url) != origin(first):
            for name in [n for n in prepared_request.headers if n.lower() in self.sensitive]:
                del prepared_request.headers[name]
            return  # Basic auth is an Authorization header too: gone with the rest
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]  # unannotated in the stubs
