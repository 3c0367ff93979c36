"""A stage's own progress (GDAL's fraction done, bytes moved) as its share of the task's bar.

Each task gives every stage a span of the bar, [start, end]; these adapters turn what the
stage can count into the task's fraction, so the bar only moves forward across stages.
"""

from __future__ import annotations

from collections.abc import Callable

from runtime import TaskContext


def fraction_span(
    ctx: TaskContext, start: float, end: float, stage: str
) -> Callable[[float], bool]:
    """A GDAL progress callback: it returns False once the task is cancelled, which stops GDAL."""

    def report(fraction: float) -> bool:
        ctx.progress(start + (end - start) * fraction, stage=stage)
        return not ctx.cancelled

    return report


def byte_span(
    ctx: TaskContext,
    start: float,
    end: float,
    stage: str,
    total: int,
    message: str | None = None,
) -> Callable[[int], None]:
    """A byte counter for uploads and downloads; callers that run it on threads lock around it."""
    sent = 0

    def report(count: int) -> None:
        nonlocal sent
        sent += count
        ctx.progress(start + (end - start) * min(1.0, sent / max(total, 1)), stage, message)

    return report
