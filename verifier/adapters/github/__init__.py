"""The GitHub tracker adapter: `tracker` (listing, reading, writing and filing through PyGithub)."""

from verifier.adapters.github.tracker import GitHubTracker, WritePacer

__all__ = ["GitHubTracker", "WritePacer"]
