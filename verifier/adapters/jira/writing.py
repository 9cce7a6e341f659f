"""Writing to Jira: comments (with labels in the same issue edit), labels, and reopening by a workflow transition.

`transition_issue` posts the transition id as a number; the API description types it as a string. We post it
ourselves, as a string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import structlog

from verifier.adapters.jira.client import JiraClient
from verifier.adapters.jira.jql import fold
from verifier.errors import TrackerError, TrackerThrottled

_log = structlog.get_logger()


class JiraWriting(JiraClient):
    """The Tracker port's writes on a ticket."""

    def comment(self, key: str, body: str, labels: Iterable[str] = ()) -> str:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:  # one issue edit: Jira answers 204 without the comment's id
            ops = {"comment": [{"add": {"body": body}}], "labels": [{"add": label} for label in wanted]}
            path = f"issue/{quote(key, safe='')}"
            # A PUT, but it adds a comment: sent again only after a refusal, like a POST.
            self._request("PUT", path, ticket=key, action="comment and label", body={"update": ops}, idempotent=False)
            return ""
        path = f"issue/{quote(key, safe='')}/comment"
        created = self._request("POST", path, ticket=key, action="comment", body={"body": body})
        return str(created.get("id", ""))

    def delete_comment(self, key: str, comment_id: str) -> None:
        path = f"issue/{quote(key, safe='')}/comment/{quote(comment_id, safe='')}"
        self._request("DELETE", path, ticket=key, action="delete comment")

    def add_labels(self, key: str, labels: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if wanted:
            update = {"update": {"labels": [{"add": label} for label in wanted]}}
            self._request("PUT", f"issue/{quote(key, safe='')}", ticket=key, action="add labels", body=update)

    def reopen(self, key: str, labels: Iterable[str] = ()) -> bool:
        """`labels` are not sent: a transition sets only the fields on its screen (`labels_with` says so)."""
        path = f"issue/{quote(key, safe='')}/transitions"
        workflow = self._workflows.get(key)  # as the re-read before writing found it
        chosen = self._transitions.get(workflow) if workflow else None
        if workflow is not None and chosen is not None:  # this workflow status's transition, chosen before
            try:
                self._request("POST", path, ticket=key, action="reopen", body={"transition": {"id": chosen["id"]}})
                _log.info("jira.reopened", ticket=key, transition=chosen.get("name"))
                return True
            except TrackerError as error:
                # Only a refusal of the transition itself (400: a condition holds it back for this ticket) asks
                # what the ticket offers; anything else may have moved the ticket already.
                if isinstance(error, TrackerThrottled) or not error.reason.startswith("Jira reopen failed: HTTP 400"):
                    raise
                _log.warning("jira.cached_transition_refused", ticket=key, error=str(error))
                self._transitions.pop(workflow, None)  # the next POST is charged by the transport (`WRITE_GATE`)
        offered = self._request("GET", path, ticket=key, action="list transitions").get("transitions", [])
        chosen = self._pick_transition(offered)
        if chosen is None:
            names = [t.get("name") for t in offered]
            _log.warning(
                "jira.no_reopen_transition", ticket=key, configured=self._connection.reopen_transition, offered=names
            )
            return False
        chosen = {"id": str(chosen["id"]), "name": chosen.get("name")}
        self._request("POST", path, ticket=key, action="reopen", body={"transition": {"id": chosen["id"]}})
        if workflow:
            self._transitions[workflow] = chosen
        _log.info("jira.reopened", ticket=key, transition=chosen.get("name"))
        return True

    def _pick_transition(self, offered: list[dict[str, Any]]) -> dict[str, Any] | None:
        wanted = self._connection.reopen_transition
        if wanted is not None:
            return next((t for t in offered if fold(str(t.get("name", ""))) == fold(wanted)), None)
        for category in ("new", "indeterminate"):
            for transition in offered:
                if ((transition.get("to") or {}).get("statusCategory") or {}).get("key") == category:
                    return transition
        return None
