"""Finding a verification config in a ticket body or comment, in the three formats users have.

a. The seed's Jira comment: `*Automated Verification Config*`, then a `{code}` (or `{code:yaml}`, `{noformat}`)
   block of `metric: …`, `condition: …`, `delay_hours: …` lines.
b. The seed's Markdown section `## Verification Criteria` with `- **Metric**: \\`…\\``, `- **Expected**: …` and
   `- **Verification Window**: 48 hours after deployment` (or the same in Jira wiki markup).
c. The project's own block: a fenced yaml block (GitHub) or `{code:yaml}` (Jira) whose first line is
   `# action-item-verifier: v1`.

In one text the project's block wins over the seed's comment, which wins over the section; within a format, the
last one wins. Whatever the text, only `ConfigError` is raised.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import yaml

from verifier.domain.config import VerificationConfig, build_config
from verifier.domain.protocol import (
    CRITERIA_HEADING,
    EXPECTED,
    METRIC,
    SEED_CONFIG_TITLE,
    VERSION,
    WINDOW,
    config_header_version,
    parse_reminder,
    parse_result,
    reminder_marker,
    result_marker,
    split_config_signature,
)
from verifier.errors import ConfigError

#: The most of one text (a body or a comment) the parser reads; a longer text is a ConfigError. Trackers store
#: far less (GitHub 65,536 characters, Jira 32,767), so only a crafted text is refused.
MAX_TEXT = 1_000_000
#: The most a config block may hold: a real one is a few lines; YAML is parsed only within this.
MAX_BLOCK = 20_000
#: A text with more fence lines (or more `{code`/`{noformat` tags) than this is not read for config blocks: a
#: config needs two, and a flood of them is an attack on the run's time, not a config.
MAX_FENCES = 200
#: Comments up to this long are listed whole; of a longer one a listing keeps only what decisions read.
KEEP_WHOLE = 4096
_FENCE_LINE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$", re.M)
_JIRA_TAG = re.compile(r"\{(code|noformat)", re.I)
_PARAMS_END = re.compile(r"[}\n]")
#: Quoted text is someone else's words: Jira's `{quote}`…`{quote}` (an unclosed one runs to the end) and `bq.`
#: paragraphs, Markdown's `>` lines. A config inside a quote is not the quoting author's (`unquoted`).
_JIRA_QUOTE = re.compile(r"\{quote(?::[^{}\n]{0,200})?\}.*?(?:\{quote\}|\Z)", re.I | re.S)
_QUOTE_LINE = re.compile(r"^[ \t]*(?:>|bq\.)[^\n]*(?:\n|\Z)", re.M | re.I)
_SEED_TITLE = re.compile(re.escape(SEED_CONFIG_TITLE), re.I)
_SECTION = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*|h[1-6]\.[ \t]*)" + re.escape(CRITERIA_HEADING) + r"[ \t]*(?::[ \t]*)?$", re.M | re.I
)
_NEXT_HEADING = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|h[1-6]\.[ \t])", re.M)
# The value runs to the end of the line and is stripped in code: a lazy value before `[ \t]*$` backtracks
# quadratically over a run of spaces.
_BULLET = re.compile(
    r"^[ \t]*[-*+][ \t]+(?:\*\*|\*)?(?P<key>"
    + "|".join(map(re.escape, (METRIC, EXPECTED, WINDOW)))
    + r")(?:\*\*|\*)?[ \t]*:"
    r"(?:\*\*|\*)?(?P<value>[^\n]*)",
    re.M | re.I,
)
_WINDOW_WORDS = re.compile(r"^(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|days?|d|minutes?|mins?)\b", re.I)
_PRIORITY = {"block": 3, "seed-comment": 2, "seed-section": 1}


@dataclass(frozen=True)
class _Candidate:
    source: str
    position: int
    raw: dict[str, object]
    signature: str | None = None


def find_config(text: str) -> VerificationConfig | None:
    """The config the text carries, None when it carries none; ConfigError when the chosen one is broken."""
    if not isinstance(text, str):
        raise ConfigError("text", f"must be text, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ConfigError("text", f"is longer than {MAX_TEXT} characters")
    return _parsed(text) if len(text) <= _MEMO_TEXT else _parse(text)


#: A run reads each ticket's texts three times (listed, re-read before writing, read after): each text is parsed
#: once (#26). The config is immutable; a ConfigError is not kept (raised again). At most 512 texts of 8 KB.
_MEMO_TEXT = 8192


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> VerificationConfig | None:
    return _parse(text)


def _parse(text: str) -> VerificationConfig | None:
    text = unquoted(text.replace("\r\n", "\n"))  # GitHub returns a text written in its web editor with CRLF ends
    candidates = [*_blocks(text), *_sections(text)]
    if not candidates:
        return None
    chosen = max(candidates, key=lambda c: (_PRIORITY[c.source], c.position))
    config = build_config(chosen.raw, chosen.source)
    return replace(config, signature=chosen.signature) if chosen.signature else config


def _blocks(text: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    for position, body, _ in _fenced(text):
        body, signature = split_config_signature(body)
        raw = _project_block(body)
        if raw is not None:
            found.append(_Candidate("block", position, raw, signature))
    title = _SEED_TITLE.search(text)
    for position, body, _ in _jira_blocks(text):
        body, signature = split_config_signature(body)
        raw = _project_block(body)
        if raw is not None:
            found.append(_Candidate("block", position, raw, signature))
        elif title is not None and title.end() <= position:
            found.append(_Candidate("seed-comment", position, _seed_lines(body)))
    return found


def unquoted(text: str) -> str:
    """The text without what it quotes (see `_JIRA_QUOTE`), so that nobody's config becomes the quoter's."""
    return _QUOTE_LINE.sub("", _JIRA_QUOTE.sub("", text))


def carries_config(text: str) -> bool:
    """Whether `find_config` would find a config or an error in the text, without reading any YAML: how an
    untrusted author's text is judged, so that their text costs no parsing and cannot raise."""
    text = unquoted(text[:MAX_TEXT].replace("\r\n", "\n"))
    if _SECTION.search(text):
        return True
    if any(_is_header(body) for _, body, _ in _fenced(text)):
        return True
    title = _SEED_TITLE.search(text)
    for position, body, _ in _jira_blocks(text):
        if _is_header(body) or (title is not None and title.end() <= position):
            return True
    return False


def essentials(text: str, keep_whole: int = KEEP_WHOLE) -> str:
    """What decisions read of a comment, so that a listing holds little of thousands of large ones: a short text
    whole; of a longer one, its result and reminder markers (rewritten as the protocol writes them) and, unless
    it has a result marker (then it is never read as a config), the spans `find_config` reads, in order."""
    if len(text) <= keep_whole or len(text) > MAX_TEXT:
        return text
    text = unquoted(text.replace("\r\n", "\n"))  # as find_config reads it: spans found on \n, quotes dropped
    markers = []
    if (due := parse_reminder(text)) is not None:
        markers.append(reminder_marker(due))
    if (result := parse_result(text)) is not None:
        markers.append(
            result_marker(
                result.verdict, result.resolved_at, early=result.early, signature=result.signature, config=result.config
            )
        )
        return "\n".join(markers)
    if not carries_config(text):
        return "\n".join(markers)
    spans = [(m.start(), _section_end(text, m.end())) for m in _SECTION.finditer(text)]
    title = _SEED_TITLE.search(text)
    for start, body, end in _fenced(text):
        if _is_header(body):
            spans.append((start, end))
    for start, body, end in _jira_blocks(text):
        seed = title is not None and title.end() <= start
        if seed or _is_header(body):
            spans.append((start, end))
            if seed and title is not None:
                spans.append((title.start(), title.end()))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    kept = "\n".join([*(text[start:end] for start, end in merged), *markers])
    # Blocks that overlap sections or other blocks can pair up differently once the text between them is gone:
    # then the whole text is kept (rare, and bounded by the tracker's comment size).
    return kept if _decision(kept) == _decision(text) else text


def _decision(text: str) -> tuple[object, ...]:
    try:
        config = find_config(text)
    except ConfigError as error:
        return ("error", str(error))
    return (config, config.signature if config else None, config.source if config else None)


def _section_end(text: str, after: int) -> int:
    following = _NEXT_HEADING.search(text, after)
    return following.start() if following else len(text)


def _fenced(text: str) -> Iterator[tuple[int, str, int]]:
    """Fenced blocks (``` or ~~~, closed by the same fence on a line of its own), as (start, body, end), in one
    pass.

    The closing fence of each opening one is looked up in an index of fence lines, so that thousands of unclosed
    fences cost no rescans (a regex with a lazy body rescans to the end of the text from each of them).
    """
    openers: list[tuple[int, int, str]] = []  # line start, line end, fence
    closers: dict[str, list[tuple[int, int]]] = {}  # fence -> (line start, line end) of its bare lines
    for number, line in enumerate(_FENCE_LINE.finditer(text)):
        if number == MAX_FENCES:
            return
        fence, rest = line.group(1), line.group(2)
        if not rest.strip(" \t"):
            closers.setdefault(fence, []).append((line.start(), line.end()))
        if "`" not in rest and line.end() < len(text):  # an opening fence needs a line after it
            openers.append((line.start(), line.end(), fence))
    tildes = sorted(len(f) for f in closers if f[0] == "~")
    after = 0
    for start, end, fence in openers:
        if start < after:  # inside the previous block
            continue
        # A longer tilde fence may also open as a shorter one (its extra tildes then read as the info string).
        if fence[0] == "~":
            candidates = ["~" * n for n in reversed(tildes[: bisect.bisect_right(tildes, len(fence))])]
        else:
            candidates = [fence]
        for candidate in candidates:
            lines = closers.get(candidate, [])
            index = bisect.bisect_right(lines, (end, 0))
            if index < len(lines):
                closing_start, closing_end = lines[index]
                yield start, text[end + 1 : closing_start], closing_end
                after = closing_end + 1
                break


def _jira_blocks(text: str) -> Iterator[tuple[int, str, int]]:
    """`{code}`/`{code:…}`/`{noformat}` blocks, closed by the bare tag of the same macro, as (start, body, end).

    Linear: every tag is found once, and where a `{code:` tag's parameters end is remembered, not rescanned.
    """
    tags: list[tuple[int, int, str]] = []  # start, end, macro
    bare: dict[str, list[int]] = {}  # macro -> starts of `{code}` / `{noformat}`
    params_end = -1
    for number, match in enumerate(_JIRA_TAG.finditer(text)):
        if number == MAX_FENCES:
            return
        macro, end = match.group(1).lower(), match.end()
        following = text[end : end + 1]
        if following == "}":
            tags.append((match.start(), end + 1, macro))
            bare.setdefault(macro, []).append(match.start())
        elif following == ":":
            if params_end <= end:
                stop = _PARAMS_END.search(text, end + 1)
                params_end = stop.start() if stop else len(text)
            if params_end < len(text) and text[params_end] == "}":
                tags.append((match.start(), params_end + 1, macro))
    after = 0
    for start, end, macro in tags:
        if start < after:
            continue
        closers = bare.get(macro, [])
        index = bisect.bisect_left(closers, end)
        if index < len(closers):
            closing = closers[index]
            after = closing + len(macro) + 2
            yield start, text[end:closing], after


def _is_header(body: str) -> bool:
    """Whether a block's first line is the tool's config header."""
    return config_header_version(body.lstrip("\n").split("\n", 1)[0]) is not None


def _project_block(body: str) -> dict[str, object] | None:
    """The fields of a block that starts with the project's header; None for any other block."""
    first_line = body.lstrip("\n").split("\n", 1)[0]
    version = config_header_version(first_line)
    if version is None:
        return None
    if version != VERSION:
        raise ConfigError("version", f"'{version[:40]}' is not a config version this tool reads ({VERSION})")
    if len(body) > MAX_BLOCK:
        raise ConfigError("block", f"is longer than {MAX_BLOCK} characters")
    try:
        loaded = _safe_load(body)
        if loaded is None:
            raise ConfigError("metric", "is missing (the block is empty)")
        if not isinstance(loaded, dict):
            raise ConfigError("block", "must be a mapping of fields such as 'metric: ...'")
        return {str(k): v for k, v in loaded.items()}
    except yaml.YAMLError as error:
        raise ConfigError("block", f"is not valid YAML: {_yaml_problem(error)}") from None
    except RecursionError:
        raise ConfigError("block", "is nested too deeply") from None
    except (ValueError, OverflowError):  # an integer of thousands of digits, a date such as 2026-13-45
        raise ConfigError("block", "holds a number or date that cannot be read") from None


def _seed_lines(body: str) -> dict[str, object]:
    """The seed's `key: value` lines. Read line by line, not as YAML: PromQL braces and colons stay text."""
    raw: dict[str, object] = {}
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ConfigError("block", f"line {number} is not 'field: value': {line.strip()[:80]}")
        key = key.strip()
        if key in raw:
            raise ConfigError(key, "is given twice")
        raw[key] = _unquote(value.strip())
    return raw


def _sections(text: str) -> list[_Candidate]:
    found = []
    for heading in _SECTION.finditer(text):
        section = text[heading.end() : _section_end(text, heading.end())]
        raw: dict[str, object] = {}
        for bullet in _BULLET.finditer(section):
            key, value = bullet.group("key").lower(), bullet.group("value").strip()
            if key == METRIC.lower():
                raw["metric"] = _strip_code(value)
            elif key == EXPECTED.lower():
                raw["condition"] = _strip_code(value)
            else:
                raw["delay_hours"] = _window_hours(value)
        if "metric" not in raw:
            raise ConfigError("metric", f"the {CRITERIA_HEADING} section names no '- **{METRIC}**: `...`'")
        found.append(_Candidate("seed-section", heading.start(), raw))
    return found


def _window_hours(value: str) -> float:
    words = _WINDOW_WORDS.match(_strip_code(value))
    if not words:
        raise ConfigError("delay_hours", f"cannot read the {WINDOW} '{value[:80]}' (e.g. '48 hours')")
    number, unit = float(words.group(1)), words.group(2)[0].lower()
    return number * {"h": 1.0, "d": 24.0, "m": 1 / 60}[unit]


def _strip_code(value: str) -> str:
    """`text` (Markdown) or {{text}} (Jira wiki, where macro characters are escaped) -> text."""
    value = value.strip()
    if value.startswith("`") and value.endswith("`") and len(value) >= 2:
        return value[1:-1].strip()
    if value.startswith("{{") and value.endswith("}}") and len(value) >= 4:
        return re.sub(r"\\([{}\[\]|])", r"\1", value[2:-2]).strip()
    return value


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _yaml_problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


# libyaml's safe loader when PyYAML was built with it (about six times faster: a run reads thousands of blocks).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load(body: str) -> object:
    """Safe YAML with no anchors or aliases: a ticket body cannot make the parser expand a billion laughs."""
    if any("\ud800" <= c <= "\udfff" for c in body):  # not Unicode text: libyaml cannot even encode it
        raise ConfigError("block", "contains a lone surrogate, which is not valid Unicode text")
    for event in yaml.parse(body, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise ConfigError("block", "YAML anchors and aliases are not allowed in a config")
    try:
        return yaml.load(body, Loader=_LOADER)  # noqa: S506 (a safe loader)
    except (KeyError, IndexError, AttributeError):  # PyYAML's constructors on `!!bool maybe`, `!!int ''`, …
        raise ConfigError("block", "holds a tagged value (such as !!bool) that cannot be read") from None
