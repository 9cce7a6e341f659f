"""A run's report for people (a table on the terminal) and for machines (`--report FILE`, `--json`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from verifier.services.run import RunReport


def as_json(report: RunReport) -> dict[str, Any]:
    return {
        "started": report.started.isoformat(),
        "dry_run": report.dry_run,
        "duration_seconds": round(report.duration_seconds, 3),
        "exit_code": report.exit_code,
        "interrupted": report.interrupted,
        "writes": report.writes,
        "counts": report.counts(),
        "errors": report.errors,
        "tickets": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(result).items()}
            for result in report.results
        ],
    }


def as_text(report: RunReport) -> str:
    lines = []
    width = max((len(r.key) for r in report.results), default=6)
    for result in report.results:
        detail = result.reason
        if result.value is not None and result.threshold is not None:
            detail = f"{result.value:.4g} vs threshold {result.threshold:.4g}; {detail}"
        if result.actions:
            verb = "would write" if report.dry_run else "wrote"
            detail += f" [{verb}: {', '.join(result.actions)}]"
        if result.deferred:
            detail += f" [left for the next run: {result.deferred}]"
        lines.append(f"{result.key:<{width}}  {result.outcome:<12}  {detail}")
    counts = ", ".join(f"{n} {k.lower()}" for k, n in report.counts().items()) or "no tickets"
    mode = " (dry run: nothing written)" if report.dry_run else ""
    lines.append(
        f"{len(report.results)} tickets: {counts}; {report.writes} writes in {report.duration_seconds:.1f}s{mode}"
    )
    lines.extend(f"error: {e}" for e in report.errors)
    if report.interrupted:
        lines.append("interrupted: stopped taking new tickets; the next run picks up the rest")
    return "\n".join(lines)
