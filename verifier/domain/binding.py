"""Whether a filed config block is the one the tool signed for this ticket, with these facts (protocol v2)."""

from __future__ import annotations

import hmac
from dataclasses import replace

from verifier.domain.action_items import ActionItem, bound_facts, render_body
from verifier.domain.config import VerificationConfig, canonical
from verifier.domain.formats import find_config
from verifier.domain.protocol import BOUND, bound_config_signature, config_bound, config_fingerprint, config_signature
from verifier.domain.tickets import Flavour, Ticket
from verifier.errors import ConfigError


def fingerprint_of(config: VerificationConfig | None) -> str | None:
    """The fingerprint a result records of the config it judged (None: no config, e.g. an unusable one)."""
    return config_fingerprint(canonical(config)) if config is not None else None


def signed_for(key: bytes, ticket: str, body: str, config: VerificationConfig) -> bool:
    """The block's `# sig: v2:…` verifies for this ticket, the block's fields and the facts `body` records."""
    return config_bound(key, ticket, canonical(config), bound_facts(body), config.signature)


def signed_earlier(key: bytes, config: VerificationConfig) -> bool:
    """The block carries a signature of the earlier format (fields only) that verifies: filed by a release before
    signatures were bound. Not trusted (it could have been copied from any ticket); `file` re-signs it."""
    signature = config.signature
    if signature is None or signature.startswith(BOUND):
        return False
    return hmac.compare_digest(config_signature(key, canonical(config)), signature)


def signed_body(key: bytes, ticket: str, item: ActionItem, flavour: Flavour) -> str:
    """The body of `item` filed as `ticket`, its config block signed for that ticket and the body's facts."""
    facts = bound_facts(render_body(item, flavour))
    fields = canonical(item.verification)
    signature = bound_config_signature(key, ticket, fields, facts)
    return render_body(replace(item, verification=replace(item.verification, signature=signature)), flavour)


def signing_needed(key: bytes, ticket: Ticket, item: ActionItem, flavour: Flavour) -> str | None:
    """What `file` does with the signature of a ticket it filed earlier: None when its block is signed for it
    already; "sign" when its block and facts say what `item` says but the signature is missing or of the earlier
    format (a filing stopped between create and sign, or a release before signatures were bound); otherwise why
    it is left alone (someone changed what was filed: re-signing would make their change the tool's)."""
    try:
        config = find_config(ticket.body)
    except ConfigError:
        config = None
    if config is not None and signed_for(key, ticket.key, ticket.body, config):
        return None
    if config is None or canonical(config) != canonical(item.verification):
        return "its config block is not the one in the file"
    if bound_facts(ticket.body) != bound_facts(render_body(item, flavour)):
        return "the incident facts in its body are not the ones in the file"
    if config.signature is not None and not signed_earlier(key, config):
        return "its config block carries a signature that does not verify"
    return "sign"
