"""What every source of jobs gives the board, and the local one: `batch-task local`'s records.

A source answers `refresh()` with every top-level job it knows (array children are never
rows) and a version per job, so the board re-reads and re-announces only what changed. The
local source reads `$BATCH_TASK_HOME/jobs/` through the simulator's own reader
(runtime/simulator/state.py), comparing each job's stamp and reading only changed jobs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from runtime.board.model import STATUSES
from runtime.errors import UsageError
from runtime.simulator.state import LocalState


@dataclass(frozen=True)
class Entry:
    """One job as a source last saw it: its DescribeJobs-like document and latest progress."""

    raw: dict[str, Any]
    progress: dict[str, Any] | None
    version: Any
    queue: str | None = None


class Source(Protocol):
    name: str
    interval: float
    calls: Counter[str]

    def refresh(self) -> dict[str, Entry]: ...
    def entry(self, job_id: str) -> Entry | None: ...
    def logs(self, job_id: str) -> list[dict[str, Any]]: ...
    def children(self, job_id: str) -> list[dict[str, Any]]: ...
    def terminate(self, job_id: str, reason: str) -> None: ...


@dataclass
class LocalSource:
    """Jobs recorded by `batch-task local` and `workflow local` under BATCH_TASK_HOME."""

    root: Path
    name: str = "local"
    interval: float = 0.5
    calls: Counter[str] = field(default_factory=Counter)
    _seen: dict[str, Entry] = field(default_factory=dict)
    _logs: dict[str, tuple[list[dict[str, Any]], int]] = field(default_factory=dict)

    @property
    def state(self) -> LocalState:
        return LocalState(self.root)

    def refresh(self) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for job_id, stamp in self.state.stamps().items():
            entry = self._read(job_id, stamp, self._seen.get(job_id))
            if entry is not None:
                found[job_id] = entry
        self._seen = found
        return found

    def _read(self, job_id: str, stamp: int, known: Entry | None) -> Entry | None:
        if known is not None and known.version == stamp:
            return known
        raw = self.state.read_job(job_id)
        if raw is None:
            return known
        return Entry(raw, self.state.latest_progress(job_id), stamp, "local")

    def entry(self, job_id: str) -> Entry | None:
        if job_id in self._seen:
            return self._seen[job_id]
        return self._read(job_id, self.state.stamp(job_id), None)

    def logs(self, job_id: str) -> list[dict[str, Any]]:
        """Every event so far; only what was appended since the last call is read."""
        events, offset = self._logs.get(job_id, ([], 0))
        more, offset = self.state.read_logs(job_id, offset)
        events = events + more
        self._logs[job_id] = (events, offset)
        return events

    def children(self, job_id: str) -> list[dict[str, Any]]:
        return [
            {
                "job_id": child["jobId"],
                "index": (child.get("arrayProperties") or {}).get("index"),
                "status": child.get("status"),
            }
            for child in self.state.children(job_id)
        ]

    def terminate(self, job_id: str, reason: str) -> None:
        raise UsageError(
            f"local job {job_id} runs in the terminal of its `batch-task local`: stop it there"
            " with Ctrl-C"
        )


def count_children(children: list[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(c["status"] for c in children)
    return {s: counts[s] for s in STATUSES if counts[s]}
