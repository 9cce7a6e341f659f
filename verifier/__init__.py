"""action-item-verifier: closes the loop on post-incident action items with the metrics that found the incident."""

from importlib.metadata import PackageNotFoundError, version

# The version's one home is pyproject.toml; the installed distribution's metadata carries it here.
try:
    __version__ = version("action-item-verifier")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
