"""The Jira tracker adapter: `tracker` (listing, reading, writing), `filing` (finding and creating filed tickets),
`history` (the changelog trust reads) and `jql` (what both read Jira with)."""

from verifier.adapters.jira.filing import incident_label, seed_comment
from verifier.adapters.jira.tracker import JiraTracker

__all__ = ["JiraTracker", "incident_label", "seed_comment"]
