"""The progress of one run as SPEC's events, delivered on a thread of its own.

`update()` runs on the task's thread, possibly thousands of times a second from a GDAL
callback, so it only records the newest value under a lock. The delivery thread turns that
value into a RUNNING event at most once per `interval` and delivers every event in sequence
order, retrying as the endpoint asks. RUNNING events are built only when the thread is ready to
send one: a throttled value is never lost, the newest one wins, and an endpoint that is down
leaves no backlog behind it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from runtime.job import Job
from runtime.progress.delivery import REQUEST_TIMEOUT, Endpoint, Rejected, Retry, backoff
from runtime.progress.snapshot import Snapshot
from runtime.timestamps import rfc3339

RUNNING_INTERVAL = 1.0
CLOSE_MARGIN = 0.2
"""Seconds kept from the exit budget to log that the final event could not be delivered."""


class Reporter:
    """Turns `ctx.progress()` calls and the run's outcome into progress events.

    Without an endpoint the events still exist: each RUNNING one is logged as `task.progress`, so
    stdout and CloudWatch show how far a task got even when nobody listens for progress.
    """

    def __init__(
        self,
        *,
        task: str,
        job: Job,
        log: Any,
        endpoint: Endpoint | None = None,
        redact: Callable[[str], str] = str,
        record: str | None = None,
        terminal: TextIO | None = None,
        interval: float = RUNNING_INTERVAL,
    ) -> None:
        self.task = task
        self.job = job
        self.log = log
        self.endpoint = endpoint
        self._redact = redact
        self._interval = interval
        self._clock = time.monotonic
        self._started = self._clock()
        self._cond = threading.Condition()
        self._outbox: deque[dict[str, Any]] = deque()
        self._status: str | None = None
        self._progress = 0.0
        self._stage: str | None = None
        self._message: str | None = None
        self._pending = False
        self._last_running = float("-inf")
        self._sequence = 0
        self._finished = False
        self._stopped = False
        self._rejected = False
        self._retry_warned = False
        self._not_before = float("-inf")
        self._server_delay = False
        self._record = Path(record) if record else None
        self.bar = None
        if terminal is not None:
            from runtime.progress.bar import TerminalBar

            self.bar = TerminalBar(self.snapshot, terminal, label=task)
        self._thread = threading.Thread(target=self._deliver_all, name="progress", daemon=True)
        self._thread.start()

    def starting(self) -> None:
        with self._cond:
            if self._status is None:
                self._queue(self._event("STARTING"))

    def update(self, fraction: float, stage: str | None = None, message: str | None = None) -> None:
        with self._cond:
            if self._finished:
                return
            self._progress = min(1.0, max(self._progress, float(fraction)))
            self._stage = stage or self._stage
            self._message = message
            if not self._pending:
                self._pending = True
                self._cond.notify_all()

    def succeeded(self, result: Any) -> None:
        self._finish("SUCCEEDED", result=result)

    def failed(self, error_type: str, message: str, exit_code: int, retryable: bool) -> None:
        error = {
            "type": error_type,
            "message": message,
            "exit_code": exit_code,
            "retryable": retryable,
        }
        self._finish("FAILED", error=error)

    def snapshot(self) -> Snapshot:
        with self._cond:
            return Snapshot(self._status, self._progress, self._stage, self._message)

    def close(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the final event to be delivered, then give up."""
        deadline = self._clock() + timeout
        with self._cond:
            self._finished = True
            self._cond.notify_all()
        if self.bar is not None:
            self.bar.close()
        self._thread.join(max(0.0, deadline - self._clock() - CLOSE_MARGIN))
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and self.endpoint is not None:
            self.log.warning("progress.undelivered", target=self.endpoint.target, waited=timeout)

    def _finish(self, status: str, **fields: Any) -> None:
        """Queue the newest RUNNING value, then the final event.

        The final event must get a try within the exit budget, so it cuts short a backoff of
        our own; a server's Retry-After still holds.
        """
        with self._cond:
            if self._finished:
                return
            if self._pending:
                self._queue(self._event("RUNNING"))
            if status == "SUCCEEDED":
                self._progress = 1.0
            self._queue(self._event(status, **fields))
            self._finished = True
            if not self._server_delay:
                self._not_before = min(self._not_before, self._clock())

    def _queue(self, event: dict[str, Any]) -> None:
        self._outbox.append(event)
        self._cond.notify_all()

    def _event(
        self, status: str, *, result: Any = None, error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Build the next event; the caller holds the lock, which keeps `sequence` in order."""
        self._sequence += 1
        self._status = status
        if status == "RUNNING":
            self._pending = False
            self._last_running = self._clock()
        return {
            "job_id": self.job.job_id,
            "attempt": self.job.attempt,
            "array_index": self.job.array_index,
            "task": self.task,
            "status": status,
            "progress": round(self._progress, 4),
            "stage": self._stage,
            "message": self._message if status == "RUNNING" else None,
            "sequence": self._sequence,
            "timestamp": rfc3339(time.time()),
            "elapsed_seconds": round(self._clock() - self._started, 3),
            "result": result,
            "error": error,
        }

    def _deliver_all(self) -> None:
        while (next_event := self._next()) is not None:
            event, built_here = next_event
            if built_here:
                self.log.info(
                    "task.progress",
                    progress=event["progress"],
                    stage=event["stage"],
                    message=event["message"],
                )
            self._deliver(event)

    def _next(self) -> tuple[dict[str, Any], bool] | None:
        """The next event to deliver, waiting for one; None once the final one went out.

        A RUNNING event is built only once both the throttle and the endpoint allow it to be sent,
        so that it carries the newest value. One built here is new; one taken from the outbox
        was flushed before the final event, whose `task.failed` or `task.succeeded` line must
        stay the last log line.
        """
        with self._cond:
            while True:
                if self._outbox:
                    return self._outbox.popleft(), False
                if self._finished or self._stopped:
                    return None
                if not self._pending:
                    self._cond.wait()
                    continue
                due = max(self._last_running + self._interval, self._not_before)
                wait = due - self._clock()
                if wait <= 0:
                    return self._event("RUNNING"), True
                self._cond.wait(wait)

    def _deliver(self, event: dict[str, Any]) -> None:
        body = self._redact(json.dumps(event, default=str, ensure_ascii=False)).encode()
        if self._record is not None:
            self._append_record(self._record, body)
        if self.endpoint is None:
            return
        failures = 0
        while not self._rejected and self._endpoint_ready(event):
            try:
                self.endpoint.send(body, REQUEST_TIMEOUT)
                return
            except Rejected as exc:
                self._rejected = True
                self._warn("progress.rejected", reason=str(exc))
            except Retry as exc:
                failures += 1
                if not self._retry_warned:
                    self._retry_warned = True
                    self._warn("progress.retrying", reason=str(exc))
                with self._cond:
                    self._not_before = self._clock() + backoff(failures, exc.after)
                    self._server_delay = exc.after is not None
            except Exception as exc:
                # A library under an endpoint failing in a way it does not document: progress is
                # lost for this run, the task and its progress log lines go on.
                self._rejected = True
                self._warn("progress.rejected", reason=type(exc).__name__, exc_info=exc)

    def _append_record(self, path: Path, body: bytes) -> None:
        try:
            with path.open("ab") as file:
                file.write(body + b"\n")
        except OSError as exc:
            self._record = None
            self.log.warning("progress.record_failed", path=str(exc.filename), error=str(exc))

    def _endpoint_ready(self, event: dict[str, Any]) -> bool:
        """Wait until the endpoint may be tried again; False if the event is no longer worth it.

        A RUNNING event is outdated by any newer value. A change of status is never dropped
        for a newer one, so consumers see every status in order; only `close()` gives up on it.
        """
        with self._cond:
            while (wait := self._not_before - self._clock()) > 0:
                running = event["status"] == "RUNNING"
                if self._stopped or (running and (self._pending or self._outbox)):
                    return False
                self._cond.wait(wait)
            return not self._stopped

    def _warn(self, event: str, **fields: Any) -> None:
        """Log from the delivery thread, unless `close()` has given up and the process exits."""
        if not self._stopped and self.endpoint is not None:
            self.log.warning(event, target=self.endpoint.target, **fields)
