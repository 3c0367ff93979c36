"""Progress of one run, as SPEC's progress events: STARTING, RUNNING..., SUCCEEDED or FAILED."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from runtime.job import Job

RUNNING_INTERVAL = 1.0


class Reporter:
    """Turns `ctx.progress()` calls into progress events, throttled, never decreasing."""

    def __init__(
        self, *, task: str, job: Job, log: Any, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.task = task
        self.job = job
        self.log = log
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._sequence = 0
        self._progress = 0.0
        self._stage: str | None = None
        self._last_running = float("-inf")

    def starting(self) -> None:
        self._send("STARTING")

    def update(self, fraction: float, stage: str | None = None, message: str | None = None) -> None:
        with self._lock:
            fraction = min(1.0, max(self._progress, float(fraction)))
            now = self._clock()
            if stage == self._stage and now - self._last_running < RUNNING_INTERVAL:
                self._progress = fraction
                return
            self._last_running = now
            self._progress, self._stage = fraction, stage or self._stage
        self._send("RUNNING", message=message)

    def succeeded(self, result: Any) -> None:
        self._progress = 1.0
        self._send("SUCCEEDED", result=result)

    def failed(self, error_type: str, message: str, exit_code: int, retryable: bool) -> None:
        self._send(
            "FAILED",
            error={
                "type": error_type,
                "message": message,
                "exit_code": exit_code,
                "retryable": retryable,
            },
        )

    def close(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the final event to be delivered."""

    def _send(
        self,
        status: str,
        *,
        message: str | None = None,
        result: Any = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            self._sequence += 1
            now = datetime.now(UTC)
            event = {
                "job_id": self.job.job_id,
                "attempt": self.job.attempt,
                "array_index": self.job.array_index,
                "task": self.task,
                "status": status,
                "progress": round(self._progress, 4),
                "stage": self._stage,
                "message": message,
                "sequence": self._sequence,
                "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "elapsed_seconds": round(self._clock() - self._started, 3),
                "result": result,
                "error": error,
            }
        if status == "RUNNING":
            self.log.info(
                "task.progress", progress=event["progress"], stage=event["stage"], message=message
            )
        return event
