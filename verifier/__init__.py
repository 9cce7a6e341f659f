"""action-item-verifier: closes the loop on post-incident action items with the metrics that found the incident."""

__version__ = "0.1.0"
