"""The configured CA bundle (or `verify_tls: false`) is the one TLS verification uses, whatever the environment says.

requests lets `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` from the environment replace a session's `verify` on every
request that does not pass its own (psf/requests#3829). Many images set them to the OS bundle, so a configured
`VERIFIER_*_CA_BUNDLE` of a private CA, or `VERIFY_TLS=false`, would be ignored there, and the run could not reach
its servers. With no bundle configured, the environment's still applies, as requests would have it.
"""

from __future__ import annotations

from typing import Any

import requests


def keep_configured_verify(session: requests.Session) -> requests.Session:
    """`session` with its `verify` (a bundle path, or False) winning over the environment's CA bundle."""
    merge = session.merge_environment_settings

    def merged(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings: Any = merge(url, proxies, stream, verify, cert)
        if verify is None and session.verify is not True:  # the request named none: the configured one
            settings["verify"] = session.verify
        return settings

    session.merge_environment_settings = merged  # type: ignore[method-assign]
    return session
