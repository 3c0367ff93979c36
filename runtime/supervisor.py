"""The supervisor's watch over the task's process, from the go signal to its end.

One loop on the main thread: read what arrives on the three pipes (the wire, the task's stdout
and stderr) and pass it on, notice SIGTERM, SIGINT and the deadline, forward them to the task's
process, and kill it when the grace period is over. It ends when the process has ended and its
pipes are drained, with the `Outcome` that the exit code and the last word are made of.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtime import logs, wire
from runtime.outcome import CANCELLED, Outcome
from runtime.progress import Reporter

POLL_SECONDS = 0.1
DRAIN_SECONDS = 1.0
"""How long pipes are read after the task's process ended: a process it started may hold
them open, and must not hold up the last word."""
_READ = 1 << 16


class Stops:
    """What stops a run from outside its task, for the loop to act on: SIGTERM and SIGINT
    (the handler is installed before the fork, so none is missed) and a watcher's request."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self.requested: tuple[Outcome, int] | None = None
        for signum in CANCELLED:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signum = self.signum or signum
        self.count += 1

    def request(self, outcome: Outcome, signum: int = signal.SIGTERM) -> None:
        """Stop the task by sending it `signum`, and end the run with `outcome` unless the task
        still succeeds. Safe from any thread; the first request wins."""
        if self.requested is None:
            self.requested = (outcome, signum)


@dataclass
class Watch:
    """What a watcher (a thread beside the supervisor's loop, such as the Spot notice's) gets:
    the run's logger, the latest progress, a way to stop the task, and the run's end."""

    stops: Stops
    log: Any
    snapshot: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)


Watcher = Callable[[Watch], None]


class Supervisor:
    def __init__(
        self,
        pid: int,
        fds: tuple[int, int, int],
        *,
        pipeline: logs.LogPipeline,
        output: logs.Output,
        reporter: Reporter,
        stops: Stops,
        timeout: float | None,
        grace: float,
    ) -> None:
        self.pid = pid
        self.output = output
        self.reporter = reporter
        self.stops = stops
        self.timeout = timeout
        self.grace = grace
        self.log = pipeline.get_logger("runtime")
        self.uploads: dict[str, tuple[str, str]] = {}
        self.reported: Outcome | None = None
        self._streams = {
            fds[0]: (wire.Lines(), self._on_wire),
            fds[1]: (wire.Lines(), self._stray("task.stdout", "info")),
            fds[2]: (wire.Lines(), self._stray("task.stderr", "warning")),
        }
        self._selector = selectors.DefaultSelector()
        for fd in fds:
            self._selector.register(fd, selectors.EVENT_READ)

    def run(self) -> Outcome:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        stop: Outcome | None = None
        kill_at = float("inf")
        status: int | None = None
        drained_by = float("inf")
        while self._streams and time.monotonic() < drained_by:
            self._pump(POLL_SECONDS)
            if status is not None:
                continue
            pid, exit_status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                status, drained_by = exit_status, time.monotonic() + DRAIN_SECONDS
                continue
            if stop is None:
                stop = self._stop_reason(deadline)
                if stop is not None:
                    kill_at = time.monotonic() + self.grace
            elif time.monotonic() >= kill_at or self.stops.count >= 2:
                os.kill(self.pid, signal.SIGKILL)
                kill_at = float("inf")
        if status is None:
            _, status = os.waitpid(self.pid, 0)
        for fd in list(self._streams):
            self._close(fd)
        return self._outcome(status, stop)

    def _stop_reason(self, deadline: float | None) -> Outcome | None:
        """SIGTERM, SIGINT, a watcher's request or the deadline, forwarded to the task's
        process, or None."""
        if self.stops.signum is not None:
            stop, signum = Outcome.cancelled(self.stops.signum), self.stops.signum
        elif self.stops.requested is not None:
            stop, signum = self.stops.requested
        elif deadline is not None and time.monotonic() >= deadline:
            stop, signum = Outcome.timed_out(self.timeout or 0.0), signal.SIGTERM
        else:
            return None
        self.log.warning("task.cancelling", reason=stop.error, grace_seconds=self.grace)
        os.kill(self.pid, signum)
        return stop

    def _outcome(self, status: int, stop: Outcome | None) -> Outcome:
        if self.reported is not None and (stop is None or self.reported.succeeded):
            return self.reported
        if stop is not None:
            return stop
        if os.WIFSIGNALED(status):
            return Outcome.died(os.WTERMSIG(status))
        return Outcome.vanished(os.WEXITSTATUS(status))

    def _pump(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            fd = key.fd
            lines, handle = self._streams[fd]
            chunk = os.read(fd, _READ)
            if chunk:
                handle(lines.feed(chunk))
            else:
                handle(lines.tail())
                self._close(fd)

    def _close(self, fd: int) -> None:
        self._selector.unregister(fd)
        del self._streams[fd]
        os.close(fd)

    def _on_wire(self, lines: list[bytes]) -> None:
        events: list[tuple[str, float, str]] = []
        for kind, body in wire.messages(lines):
            if kind == wire.LOG:
                level, timestamp, line = wire.log_parts(body)
                events.append((line, timestamp, level))
                continue
            if events:
                self.output.forward(events)
                events = []
            if kind == wire.PROGRESS:
                value = json.loads(body)
                self.reporter.update(value["fraction"], value["stage"], value["message"])
            elif kind == wire.UPLOAD:
                upload = json.loads(body)
                self.uploads[upload["upload_id"]] = (upload["bucket"], upload["key"])
            elif kind == wire.DONE:
                self.uploads.pop(body.decode(), None)
            elif kind == wire.RESULT:
                self.reported = Outcome(**json.loads(body))
        if events:
            self.output.forward(events)

    def _stray(self, logger: str, level: str) -> Callable[[list[bytes]], None]:
        """Lines the task or a library wrote outside the logger become events of their own."""
        log = getattr(self.log.bind(logger=logger), level)

        def handle(lines: list[bytes]) -> None:
            for line in lines:
                text = line.decode("utf-8", "replace").rstrip("\r")
                if text.strip():
                    log(text)

        return handle
