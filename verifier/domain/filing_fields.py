"""The readers of the action-items file's fields (`verifier.domain.filing`): safe YAML, texts, lists of texts,
numbers and times, each problem a `ConfigError` naming the field. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import yaml

from verifier.errors import ConfigError

#: How deeply mappings and lists may nest in the file (the format itself needs four levels).
MAX_DEPTH = 32
#: The most of a value from the file an error message quotes.
EXCERPT = 80
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Alertmanager writes nanoseconds; Python reads microseconds


def load_yaml(text: str) -> Any:
    """Safe YAML without anchors or aliases, nested at most `MAX_DEPTH` deep: checked on the parser's events
    first (linear in the text), so a few hundred bytes of aliases cannot expand into gigabytes."""
    what = "the action-items file is not valid YAML"
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError("text", f"{what}: anchors and aliases (*name) are not allowed{_line(event)}")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError("text", f"{what}: nested deeper than {MAX_DEPTH} levels{_line(event)}")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError("text", f"{what}: {excerpt(problem)}{where}") from None
    except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError) as error:
        # a scalar YAML types but cannot build (2026-13-45), or a tag PyYAML's constructors trip on (!!int '')
        raise ConfigError("text", f"{what}: {excerpt(str(error))}") from None


# PyYAML's own safe loader (one file per command, so libyaml's speed does not matter; its messages are clearer).
_LOADER = yaml.SafeLoader


def _line(event: yaml.Event) -> str:
    mark = event.start_mark
    return f" (line {mark.line + 1})" if mark is not None else ""


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """The first `limit` characters of a value from the file, on one line, for an error message."""
    text = value if isinstance(value, str) else repr(value) if _small(value) else f"a {type(value).__name__}"
    return re.sub(r"\s+", " ", text[: limit * 4])[:limit]


def quoted(value: object) -> str:
    """`excerpt`, in quotes when it is text (as repr would show it)."""
    return repr(excerpt(value)) if isinstance(value, str) else excerpt(value)


def _small(value: object) -> bool:
    """Whether repr(value) is cheap: scalars only (a list's repr walks all of it)."""
    return value is None or isinstance(value, bool | float) or (isinstance(value, int) and value.bit_length() < 1000)


def check_known(raw: Mapping[Any, Any], known: tuple[str, ...], prefix: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(prefix + excerpt(unknown[0]), f"unknown field (known fields: {', '.join(known)})")


def read_text(
    raw: Mapping[Any, Any],
    name: str,
    prefix: str,
    *,
    required: bool = False,
    limit: int = 1000,
    hint: str = "",
    keep_lines: bool = False,
) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(prefix + name, f"is missing{hint}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(prefix + name, f"must be text, not {type(value).__name__}")
    text = str(value).strip() if keep_lines else " ".join(str(value).split())
    if not text:
        if required:
            raise ConfigError(prefix + name, f"is empty{hint}")
        return None
    if "\x00" in text:
        raise ConfigError(prefix + name, "contains a NUL character")
    if len(text) > limit:
        raise ConfigError(prefix + name, f"is longer than {limit} characters")
    return text


def read_texts(value: object, field: str, *, spaces: bool = True, limit: int = 1000) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(field, "must be a list")
    out = []
    for entry in value:
        if isinstance(entry, bool) or not isinstance(entry, str | int | float) or not str(entry).strip():
            raise ConfigError(field, f"must be a list of non-empty texts; {quoted(entry)} is not one")
        text = str(entry).strip()
        if not spaces and any(c.isspace() for c in text):
            raise ConfigError(field, f"'{excerpt(text)}' contains spaces")
        if len(text) > limit or "\x00" in text:
            raise ConfigError(field, f"'{excerpt(text)}' is longer than {limit} characters or holds a NUL")
        out.append(text)
    return tuple(dict.fromkeys(out))


def read_named_texts(value: object, field: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ConfigError(field, "must be a mapping of names to values")
    out = []
    for key, entry in value.items():
        name = key if isinstance(key, str) else None
        if not name or not name.strip() or len(name) > 200:
            raise ConfigError(field, f"{quoted(key)} is not a usable name")
        name = " ".join(name.split())
        text = read_text({name: entry}, name, f"{field}.", required=True, limit=4000)
        out.append((name, str(text)))
    return tuple(out)


def read_number(raw: Mapping[Any, Any], name: str, prefix: str) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    number = finite_float(value)
    if number is None:
        raise ConfigError(prefix + name, f"'{str(value)[:80]}' is not a finite number")
    return number


def finite_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def read_time(value: object, field: str) -> datetime:
    if value is None:
        raise ConfigError(field, "is missing (when the alert fired: RFC 3339, e.g. 2026-11-20T09:41:00Z)")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip())
        try:
            # Python 3.11 reads a trailing "Z" itself; only the lowercase "z" RFC 3339 also allows needs rewriting.
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("z") else text)
        except ValueError:
            raise ConfigError(
                field, f"'{excerpt(value)}' is not an RFC 3339 time such as 2026-11-20T09:41:00Z"
            ) from None
    else:
        raise ConfigError(field, f"must be a time such as 2026-11-20T09:41:00Z, not {type(value).__name__}")
    if moment.tzinfo is None:
        raise ConfigError(field, f"'{excerpt(value)}' has no time zone; add Z or +00:00")
    if moment.year < 1970:
        raise ConfigError(field, f"'{excerpt(value)}' is not a time an alert fired at")
    return moment


def as_mapping(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


__all__ = [
    "EXCERPT",
    "MAX_DEPTH",
    "as_mapping",
    "check_known",
    "excerpt",
    "finite_float",
    "load_yaml",
    "quoted",
    "read_named_texts",
    "read_number",
    "read_text",
    "read_texts",
    "read_time",
]
