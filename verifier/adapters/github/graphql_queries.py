"""The GraphQL queries the GitHub adapter sends (`verifier.adapters.github.graphql` sends them): one page of issues
with their comments, labels and label events; one issue so; the next page of one issue's comments, labels or label
events; many issues by number in one request (`read_issues`: aliases). Every actor is asked for its `__typename`
(a bot's login lacks REST's `[bot]` suffix) and `databaseId` (REST's id). The contract tests validate each against
GitHub's published schema (tests/contracts)."""

from __future__ import annotations

__all__ = ["GET_ISSUE", "LIST_ISSUES", "MORE_COMMENTS", "MORE_EVENTS", "MORE_LABELS", "QUERIES", "read_issues"]

PAGE = 100  # GitHub's largest `first`
_ACTOR = "__typename login ... on User { databaseId } ... on Bot { databaseId } ... on Mannequin { databaseId } "
_ACTOR += "... on Organization { databaseId }"
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_COMMENTS = f"totalCount {_PAGE_INFO} nodes {{ databaseId body createdAt updatedAt author {{ {_ACTOR} }} }}"
_LABELS = f"{_PAGE_INFO} nodes {{ name }}"
_EVENT = f"createdAt label {{ name }} actor {{ {_ACTOR} }}"
_EVENTS = f"{_PAGE_INFO} nodes {{ __typename ... on LabeledEvent {{ {_EVENT} }} ... on UnlabeledEvent {{ {_EVENT} }} }}"
_EVENT_TYPES = "itemTypes: [LABELED_EVENT, UNLABELED_EVENT]"
_ISSUE = (
    "number title body url state stateReason(enableDuplicate: true) closedAt createdAt "
    f"author {{ {_ACTOR} }} "
    f"comments(first: $comments) {{ {_COMMENTS} }} "
    f"labels(first: {PAGE}) {{ {_LABELS} }} "
    f"timelineItems(first: {PAGE}, {_EVENT_TYPES}) {{ {_EVENTS} }}"
)
LIST_ISSUES = (
    "query ListIssues($owner: String!, $name: String!, $first: Int!, $after: String, $comments: Int!, "
    "$labels: [String!], $states: [IssueState!], $since: DateTime, $order: IssueOrder) { "
    "repository(owner: $owner, name: $name) { "
    "issues(first: $first, after: $after, labels: $labels, states: $states, filterBy: {since: $since}, "
    f"orderBy: $order) {{ {_PAGE_INFO} nodes {{ {_ISSUE} }} }} }} }}"
)
GET_ISSUE = (
    "query GetIssue($owner: String!, $name: String!, $number: Int!, $comments: Int!) { "
    f"repository(owner: $owner, name: $name) {{ issue(number: $number) {{ {_ISSUE} }} }} }}"
)
_MORE = (
    "query More{what}($owner: String!, $name: String!, $number: Int!, $first: Int!, $after: String) {{ "
    "repository(owner: $owner, name: $name) {{ issue(number: $number) {{ {field} {{ {shape} }} }} }} }}"
)
MORE_COMMENTS = _MORE.format(what="Comments", field="comments(first: $first, after: $after)", shape=_COMMENTS)
MORE_LABELS = _MORE.format(what="Labels", field="labels(first: $first, after: $after)", shape=_LABELS)
MORE_EVENTS = _MORE.format(
    what="Events", field=f"timelineItems(first: $first, after: $after, {_EVENT_TYPES})", shape=_EVENTS
)
_ISSUE_FIELDS = f"fragment IssueFields on Issue {{ {_ISSUE} }}"


def read_issues(shape: tuple[int, ...]) -> str:
    """One query for `shape[j]` issues of the j-th repository, each read as `GET_ISSUE` reads it: the repository
    aliased `r<j>` (variables `$owner<j>`, `$name<j>`), each issue `i<k>` (`$n<k>`, k counted across them all).
    Its points are a listing page's for as many issues (three connections an issue, `first` at most 100)."""
    variables = ["$comments: Int!"]
    repositories, k = [], 0
    for j, count in enumerate(shape):
        variables += [f"$owner{j}: String!", f"$name{j}: String!"]
        issues = []
        for n in range(k, k + count):
            variables.append(f"$n{n}: Int!")
            issues.append(f"i{n}: issue(number: $n{n}) {{ ...IssueFields }}")
        k += count
        repositories.append(f"r{j}: repository(owner: $owner{j}, name: $name{j}) {{ {' '.join(issues)} }}")
    return f"query ReadIssues({', '.join(variables)}) {{ {' '.join(repositories)} }} {_ISSUE_FIELDS}"


#: Every query the adapter sends (the contract tests validate each against GitHub's published schema); the batched
#: read as one example of its shapes.
QUERIES = (LIST_ISSUES, GET_ISSUE, MORE_COMMENTS, MORE_LABELS, MORE_EVENTS, read_issues((2, 1)))
