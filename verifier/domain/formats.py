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

import re
from dataclasses import dataclass

import yaml

from verifier.domain.config import HEADER, VerificationConfig, build_config
from verifier.errors import ConfigError

MAX_TEXT = 1_000_000
_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$", re.M | re.S
)
_JIRA_BLOCK = re.compile(r"\{(?P<macro>code|noformat)(?::[^}\n]*)?\}(?P<body>.*?)\{(?P=macro)\}", re.S | re.I)
_SEED_TITLE = re.compile(r"Automated Verification Config", re.I)
_HEADER = re.compile(r"^\s*#\s*action-item-verifier\s*:\s*(?P<version>\S+)\s*$")
_SECTION = re.compile(r"^[ \t]*(?:#{1,6}[ \t]*|h[1-6]\.[ \t]*)Verification Criteria[ \t]*:?[ \t]*$", re.M | re.I)
_NEXT_HEADING = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|h[1-6]\.[ \t])", re.M)
_BULLET = re.compile(
    r"^[ \t]*[-*+][ \t]+(?:\*\*|\*)?(?P<key>Metric|Expected|Verification Window)(?:\*\*|\*)?[ \t]*:"
    r"(?:\*\*|\*)?[ \t]*(?P<value>.*?)[ \t]*$",
    re.M | re.I,
)
_WINDOW_WORDS = re.compile(r"^(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|days?|d|minutes?|mins?)\b", re.I)
_PRIORITY = {"block": 3, "seed-comment": 2, "seed-section": 1}


@dataclass(frozen=True)
class _Candidate:
    source: str
    position: int
    raw: dict[str, object]


def find_config(text: str) -> VerificationConfig | None:
    """The config the text carries, None when it carries none; ConfigError when the chosen one is broken."""
    if not isinstance(text, str):
        raise ConfigError("text", f"must be text, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ConfigError("text", f"is longer than {MAX_TEXT} characters")
    candidates = [*_blocks(text), *_sections(text)]
    if not candidates:
        return None
    chosen = max(candidates, key=lambda c: (_PRIORITY[c.source], c.position))
    return build_config(chosen.raw, chosen.source)


def _blocks(text: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    for match in _FENCE.finditer(text):
        raw = _project_block(match.group("body"))
        if raw is not None:
            found.append(_Candidate("block", match.start(), raw))
    for match in _JIRA_BLOCK.finditer(text):
        body = match.group("body")
        raw = _project_block(body)
        if raw is not None:
            found.append(_Candidate("block", match.start(), raw))
        elif _SEED_TITLE.search(text, 0, match.start()):
            found.append(_Candidate("seed-comment", match.start(), _seed_lines(body)))
    return found


def _project_block(body: str) -> dict[str, object] | None:
    """The fields of a block that starts with the project's header; None for any other block."""
    first_line = body.lstrip("\n").split("\n", 1)[0]
    header = _HEADER.match(first_line)
    if not header:
        return None
    if f"# action-item-verifier: {header.group('version')}" != HEADER:
        raise ConfigError("version", f"'{header.group('version')}' is not a config version this tool reads (v1)")
    try:
        loaded = _safe_load(body)
    except yaml.YAMLError as error:
        raise ConfigError("block", f"is not valid YAML: {_yaml_problem(error)}") from None
    except RecursionError:
        raise ConfigError("block", "is nested too deeply") from None
    if loaded is None:
        raise ConfigError("metric", "is missing (the block is empty)")
    if not isinstance(loaded, dict):
        raise ConfigError("block", "must be a mapping of fields such as 'metric: ...'")
    return {str(k): v for k, v in loaded.items()}


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
        end_match = _NEXT_HEADING.search(text, heading.end())
        section = text[heading.end() : end_match.start() if end_match else len(text)]
        raw: dict[str, object] = {}
        for bullet in _BULLET.finditer(section):
            key, value = bullet.group("key").lower(), bullet.group("value")
            if key == "metric":
                raw["metric"] = _strip_code(value)
            elif key == "expected":
                raw["condition"] = _strip_code(value)
            else:
                raw["delay_hours"] = _window_hours(value)
        if "metric" not in raw:
            raise ConfigError("metric", "the Verification Criteria section names no '- **Metric**: `...`'")
        found.append(_Candidate("seed-section", heading.start(), raw))
    return found


def _window_hours(value: str) -> float:
    words = _WINDOW_WORDS.match(_strip_code(value))
    if not words:
        raise ConfigError("delay_hours", f"cannot read the Verification Window '{value[:80]}' (e.g. '48 hours')")
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
    return yaml.load(body, Loader=_LOADER)  # noqa: S506 (a safe loader)
