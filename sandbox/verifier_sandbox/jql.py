"""A small JQL evaluator for the Jira sandbox.

It understands clauses joined by AND / OR / NOT with parentheses, on the fields the verifier and its tests use:
`labels`, `statusCategory`, `status`, `resolution`, `project`, `key`/`issuekey`, `reporter`, `summary` (~), and the
dates `resolved`/`resolutiondate`, `created`, `updated` with absolute ("2025-01-31", "2025/01/31 10:00") or
relative ("-7d", "-2w", "-4h", "-30m") values; plus `ORDER BY`. Anything else (other fields, functions such as
`currentUser()`, `WAS`/`CHANGED` history operators) raises `JqlError`, which the sandbox answers with 400 as Jira
does: a query the sandbox cannot evaluate is never silently widened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_CATEGORY_ALIASES = {
    "done": "done",
    "3": "done",
    "new": "new",
    "to do": "new",
    "2": "new",
    "indeterminate": "indeterminate",
    "in progress": "indeterminate",
    "4": "indeterminate",
}
_TEXT_FIELDS = {
    "labels": "labels",
    "statuscategory": "category",
    "status": "status",
    "resolution": "resolution",
    "project": "project",
    "key": "key",
    "issuekey": "key",
    "reporter": "reporter",
}
_DATE_FIELDS = {
    "resolved": "resolved",
    "resolutiondate": "resolved",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
}
_SORT_FIELDS = {"key": "key", "issuekey": "key", "summary": "summary", **_DATE_FIELDS}
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|!~|=|>|<|~)|(?P<punct>[(),])"""
    r"""|(?P<word>[^\s"'(),=!<>~]+))"""
)
_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


class JqlError(ValueError):
    """A query the sandbox cannot evaluate; the message reads like Jira's own."""


@dataclass(frozen=True)
class JqlFacts:
    """What a clause can look at in one issue."""

    key: str
    project: str
    number: int
    summary: str
    labels: frozenset[str]
    status: str
    category: str
    resolution: str | None
    resolved: datetime | None
    created: datetime
    updated: datetime
    reporter: frozenset[str]


Predicate = Callable[[JqlFacts], bool]


@dataclass(frozen=True)
class JqlQuery:
    predicate: Predicate
    order: tuple[tuple[str, bool], ...]  # (attribute, descending)
    # The (lower-case) keys every match is among, when the query says so (`key in (...) AND ...`): the sandbox
    # then looks those up instead of testing every issue. None: any issue may match.
    keys: frozenset[str] | None = None

    def run(self, issues: list[JqlFacts]) -> list[JqlFacts]:
        found = [i for i in issues if self.predicate(i)]
        for attribute, descending in reversed(self.order or (("key", False),)):
            found.sort(key=lambda i, a=attribute: _sort_key(i, a), reverse=descending)  # type: ignore[misc]
        return found


def _sort_key(issue: JqlFacts, attribute: str) -> tuple[int, object]:
    if attribute == "key":
        return (0, (issue.project, issue.number))
    value = getattr(issue, attribute)
    return (1, "") if value is None else (0, value)


@dataclass
class _Token:
    kind: str
    text: str

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        if kind == "str":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(_Token(kind, raw))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, now: datetime) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.now = now
        self.keys: dict[Predicate, frozenset[str]] = {}  # the predicates that only key-named issues can pass

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise JqlError(f"Error in the JQL Query: Expecting {expected} but reached the end of the query.")
        self.pos += 1
        return token

    def accept(self, keyword: str) -> bool:
        token = self.peek()
        if token is not None and (token.keyword == keyword or (token.kind == "punct" and token.text == keyword)):
            self.pos += 1
            return True
        return False

    def query(self) -> JqlQuery:
        predicate: Predicate = lambda _i: True  # noqa: E731 - an empty query matches everything
        token = self.peek()
        if token is not None and token.keyword != "ORDER":
            predicate = self.disjunction()
        order: list[tuple[str, bool]] = []
        if self.accept("ORDER"):
            if not self.accept("BY"):
                raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
            order.append(self.sort_item())
            while self.accept(","):
                order.append(self.sort_item())
        rest = self.peek()
        if rest is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{rest.text}'.")
        return JqlQuery(predicate, tuple(order), self.keys.get(predicate))

    def sort_item(self) -> tuple[str, bool]:
        name = self.next("a field to sort by").text
        attribute = _SORT_FIELDS.get(name.lower())
        if attribute is None:
            raise JqlError(f"Not able to sort using field '{name}'.")
        descending = False
        if self.accept("DESC"):
            descending = True
        else:
            self.accept("ASC")
        return attribute, descending

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.accept("OR"):
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        either: Predicate = lambda i: any(p(i) for p in parts)  # noqa: E731
        confined = [self.keys.get(p) for p in parts]
        if all(keys is not None for keys in confined):  # a match is among the union of the alternatives' keys
            self.keys[either] = frozenset().union(*(k for k in confined if k is not None))
        return either

    def conjunction(self) -> Predicate:
        parts = [self.factor()]
        while self.accept("AND"):
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        every: Predicate = lambda i: all(p(i) for p in parts)  # noqa: E731
        confined = [k for k in (self.keys.get(p) for p in parts) if k is not None]
        if confined:  # a match is among the keys of every confined part
            self.keys[every] = frozenset.intersection(*confined)
        return every

    def factor(self) -> Predicate:
        if self.accept("NOT"):
            inner = self.factor()
            return lambda i: not inner(i)
        if self.accept("("):
            inner = self.disjunction()
            if not self.accept(")"):
                raise JqlError("Error in the JQL Query: Expecting ')'.")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        field = self.next("a field name")
        if field.kind not in ("word", "str"):
            raise JqlError(f"Error in the JQL Query: Expecting a field name but got '{field.text}'.")
        name = field.text.lower()
        op = self.operator()
        if name in _DATE_FIELDS:
            return self.date_clause(_DATE_FIELDS[name], field.text, op)
        if name in _TEXT_FIELDS:
            return self.text_clause(_TEXT_FIELDS[name], field.text, op)
        if name in ("summary", "text") and op in ("~", "!~"):
            needle = self.value().lower()
            return lambda i: (needle in i.summary.lower()) == (op == "~")
        raise JqlError(f"Field '{field.text}' does not exist or you do not have permission to view it.")

    def operator(self) -> str:
        token = self.next("an operator")
        if token.kind == "op":
            return token.text
        keyword = token.keyword
        if keyword == "IN":
            return "in"
        if keyword == "IS":
            return "is not" if self.accept("NOT") else "is"
        if keyword == "NOT" and self.accept("IN"):
            return "not in"
        raise JqlError(f"Error in the JQL Query: the operator '{token.text}' is not supported here.")

    def value(self) -> str:
        token = self.next("a value")
        if token.kind == "str":
            return token.text
        if token.kind != "word":
            raise JqlError(f"Error in the JQL Query: Expecting a value but got '{token.text}'.")
        after = self.peek()
        if after is not None and after.kind == "punct" and after.text == "(":
            raise JqlError(f"Error in the JQL Query: the function '{token.text}' is not supported by the sandbox.")
        return token.text

    def values(self) -> list[str]:
        if not self.accept("("):
            raise JqlError("Error in the JQL Query: Expecting '(' after IN.")
        found = [self.value()]
        while self.accept(","):
            found.append(self.value())
        if not self.accept(")"):
            raise JqlError("Error in the JQL Query: Expecting ')'.")
        return found

    def empty(self) -> None:
        token = self.next("EMPTY")
        if token.keyword not in ("EMPTY", "NULL"):
            raise JqlError(f"Error in the JQL Query: Expecting EMPTY or NULL but got '{token.text}'.")

    def text_clause(self, attribute: str, field: str, op: str) -> Predicate:
        if op in ("is", "is not"):
            self.empty()
            want_empty = op == "is"
            return lambda i: (not _text_values(i, attribute) - {""}) == want_empty
        if op in ("=", "!="):
            wanted = {self.normalise(attribute, field, self.value())}
        elif op in ("in", "not in"):
            wanted = {self.normalise(attribute, field, v) for v in self.values()}
        else:
            raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
        positive = op in ("=", "in")
        predicate: Predicate = lambda i: bool(_text_values(i, attribute) & wanted) == positive  # noqa: E731
        if attribute == "key" and positive:
            self.keys[predicate] = frozenset(wanted)
        return predicate

    def normalise(self, attribute: str, field: str, value: str) -> str:
        if attribute == "category":
            category = _CATEGORY_ALIASES.get(value.lower())
            if category is None:
                raise JqlError(f"The value '{value}' does not exist for the field '{field}'.")
            return category
        if attribute == "resolution" and value.lower() == "unresolved":
            return ""
        return value if attribute == "labels" else value.lower()

    def date_clause(self, attribute: str, field: str, op: str) -> Predicate:
        if op in ("is", "is not"):
            self.empty()
            want_empty = op == "is"
            return lambda i: (getattr(i, attribute) is None) == want_empty
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
        bound = self.date_value(field, self.value())
        compare: dict[str, Callable[[datetime, datetime], bool]] = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        check = compare[op]

        def predicate(issue: JqlFacts) -> bool:
            value: datetime | None = getattr(issue, attribute)
            return value is not None and check(value, bound)

        return predicate

    def date_value(self, field: str, text: str) -> datetime:
        relative = _RELATIVE.match(text.strip())
        if relative:
            sign = -1 if relative.group(1) == "-" else 1
            return self.now + sign * int(relative.group(2)) * _UNIT[relative.group(3)]
        for layout in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(text.strip(), layout).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise JqlError(f"Date value '{text}' for field '{field}' is invalid.")


def _text_values(issue: JqlFacts, attribute: str) -> set[str]:
    if attribute == "labels":
        return set(issue.labels)
    if attribute == "reporter":
        return {r.lower() for r in issue.reporter}
    if attribute == "resolution":
        return {(issue.resolution or "").lower()}
    value: str = getattr(issue, attribute)
    return {value if attribute == "category" else value.lower()}


def parse_jql(text: str, now: datetime) -> JqlQuery:
    """Parse `text`; relative dates count from `now`. Raises `JqlError` for anything it cannot evaluate."""
    return _Parser(text, now).query()
