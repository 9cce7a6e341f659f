"""Trusted authors by immutable id: who a person the tracker shows is, as far as trust goes.

`VERIFIER_TRUSTED_AUTHORS` names people the way operators know them (GitHub logins, Jira emails or user names).
Names change hands: a GitHub user can rename their account and someone else can sign up with the old login; a Jira
Data Center user name can be renamed and reused. At start the tracker adapter resolves each entry to the account's
immutable id (GitHub user id, Jira Cloud accountId, Data Center user key), or takes the id pinned in the entry
(`alice=583231`), and from then on names every person it reads with `Identities.name`: a trusted account by its
entry (whatever it is called now), and anyone else whose name is an entry's but whose id is not as
`name (id N)`, which matches no entry. The rules compare names; the names stand for ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from verifier.errors import TrackerError


def split_entry(entry: str) -> tuple[str, str | None]:
    """`alice=583231` -> (`alice`, `583231`); `alice` -> (`alice`, None)."""
    name, sep, pinned = entry.partition("=")
    return name.strip(), (pinned.strip() or None) if sep else None


def entry_names(entries: Iterable[str], *, fold: bool) -> frozenset[str]:
    """The names the trust rules compare: each entry without its pinned id (GitHub logins in lower case)."""
    return frozenset(name.lower() if fold else name for name, _ in map(split_entry, entries) if name)


@dataclass(frozen=True)
class Identities:
    """Trusted entries and the ids they resolved to (None: not found: that entry trusts nobody)."""

    ids: Mapping[str, str | None] = field(default_factory=dict)  # entry name -> id

    def name(self, shown: str, account_id: str | None) -> str:
        """How the rules see a person the tracker shows as `shown` with the immutable id `account_id`."""
        if account_id:
            for entry, resolved in self.ids.items():
                if resolved == account_id:
                    return entry
        if shown in self.ids:  # an entry's name, but not its account: someone renamed into it
            return f"{shown} (id {account_id or 'unknown'})"
        return shown

    def mapping(self) -> list[str]:
        """`doctor`'s lines: `alice -> 583231`, `bob -> not found (not trusted)`."""
        return [f"{entry} -> {resolved or 'not found (not trusted)'}" for entry, resolved in sorted(self.ids.items())]


def resolve(
    entries: Iterable[str],
    lookup: Callable[[str], str | None],
    *,
    fold: bool = False,
    literal: Callable[[str], bool] = lambda name: False,
) -> tuple[Identities, tuple[tuple[str, str], ...]]:
    """Each entry's id: pinned (`name=id`), the name itself where it is an id (`literal`: a Jira accountId), else
    `lookup(name)` (the tracker's user search). An entry the lookup could not resolve trusts nobody: it is
    returned with the reason, for the adapter to say out loud."""
    ids: dict[str, str | None] = {}
    failed: list[tuple[str, str]] = []
    for name, pinned in map(split_entry, entries):
        name = name.lower() if fold else name
        if not name:
            continue
        if pinned is not None:
            ids[name] = pinned
        elif literal(name):
            ids[name] = name
        else:
            try:
                ids[name] = lookup(name)
            except TrackerError as error:
                ids[name] = None
                failed.append((name, str(error)))
    return Identities(ids), tuple(failed)
