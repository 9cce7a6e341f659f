"""The composition root: settings in, adapters out. The only module that knows which adapter serves which port."""

from __future__ import annotations

from verifier.adapters.prometheus import PrometheusMetrics
from verifier.settings import MetricsSettings


def metrics(settings: MetricsSettings) -> PrometheusMetrics:
    return PrometheusMetrics(settings.connection())
