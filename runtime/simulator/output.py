"""What a local job writes, shown live and recorded as its log events, secrets masked.

The job's stdout lines are the runtime's JSON log events: each is echoed to this process's
stdout (rendered for a person when that is a terminal) and appended to the job's logs.jsonl as
the object it is. Anything else a job writes (a shell's error, a crash before logging started,
stderr) is kept too, wrapped as an event with SPEC's keys, so the local record misses nothing
the job said. Every line passes the job's masking first: nothing shown or recorded holds a
secret value, whatever printed it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.simulator.state import EventWriter
from runtime.timestamps import rfc3339

PREFIX = "batch-task local"
_echo_lock = threading.Lock()


def note(text: str) -> None:
    """The simulator's own notes go to stderr, apart from the job's events on stdout."""
    with _echo_lock:
        print(f"{PREFIX}: {text}", file=sys.stderr, flush=True)


@dataclass
class AttemptOutput:
    """`on_line` for one attempt of one job (`launch.run_attempt` calls it per line)."""

    record: EventWriter
    redact: Callable[[str], str]
    job_id: str
    attempt: int
    task: str | None
    array_index: int | None = None

    def __call__(self, stream: str, line: str) -> None:
        line = self.redact(line)
        event = _json_object(line) if stream == "stdout" else None
        if event is None:
            event = self._wrapped(stream, line)
        _echo(stream, line, event)
        self.record(event)

    def _wrapped(self, stream: str, line: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "timestamp": rfc3339(time.time()),
            "level": "info" if stream == "stdout" else "warning",
            "event": line,
            "logger": stream,
            "task": self.task,
            "job_id": self.job_id,
            "attempt": self.attempt,
        }
        if self.array_index is not None:
            event["array_index"] = self.array_index
        return event


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _echo(stream: str, line: str, event: dict[str, Any]) -> None:
    out = sys.stdout if stream == "stdout" else sys.stderr
    if stream == "stdout" and out.isatty():
        from runtime.ops.joblogs import render

        line = render(json.dumps(event))
    with _echo_lock:
        out.write(line + "\n")
        out.flush()
