"""The local state: what `batch-task local` and `workflow local` record of the jobs they run.

Local jobs must be visible the way AWS jobs are (`status`, `logs`, `board --local`), live and
after the run, from other processes. So each job is a directory of plain files under
`$BATCH_TASK_HOME/jobs/` (default `~/.local/state/batch-task/jobs/`), written so that a reader
in another process never sees half of a change:

- `{job_id}/job.json`: a DescribeJobs-like document (AWS's field names), rewritten whole through
  a temporary file and a rename;
- `{job_id}/logs.jsonl`: the job's log events, one JSON object a line, appended;
- `{job_id}/progress.jsonl`: its progress events, appended by the runtime itself (the simulator
  points env `BATCH_TASK_PROGRESS_LOG` at it);
- an array child is the job `{parent_id}:{index}`, with the same files.

API (`LocalState(root)`, or `LocalState.from_env()`):

- writers: `write_job(document)`, `log_writer(job_id)` (a context manager appending events),
  `progress_log(job_id)` (the path the runtime appends to, created empty);
- readers: `list_jobs()` (top-level jobs, newest first), `read_job(job_id)`,
  `children(job_id)`, `read_logs(job_id, offset)`, `read_progress(job_id, offset)` (each returns
  the events after `offset` and the offset to continue from; only whole lines are read),
  `latest_progress(job_id)`;
- change detection for pollers: `stamp(job_id)` and `stamps()` (top-level jobs), integers that
  change whenever any of a job's files does (nanosecond mtimes), so a poller rereads only those.

Readers return None or empty lists for what does not exist; an id that could escape the
directory (`/`, a leading `.`) is never looked up.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

DEFAULT_HOME = "~/.local/state/batch-task"
JOB = "job.json"
LOGS = "logs.jsonl"
PROGRESS = "progress.jsonl"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$")
_CHILD = re.compile(r":\d+$")
_TAIL_BYTES = 65_536


def home(environ: Mapping[str, str] | None = None) -> Path:
    """`BATCH_TASK_HOME`, or `~/.local/state/batch-task`, as an absolute path."""
    environ = os.environ if environ is None else environ
    raw = environ.get("BATCH_TASK_HOME", "").strip() or DEFAULT_HOME
    return Path(raw).expanduser().absolute()


def child_id(parent_id: str, index: int) -> str:
    """An array child's job id, as AWS Batch names it."""
    return f"{parent_id}:{index}"


class EventWriter(Protocol):
    def __call__(self, event: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class LocalState:
    root: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalState:
        return cls(home(environ))

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    def job_dir(self, job_id: str) -> Path:
        if not valid_id(job_id):
            raise ValueError(
                f"job id {job_id!r} can't name a directory: use letters, digits, '_', '.', ':'"
                " and '-', starting with a letter or digit"
            )
        return self.jobs_dir / job_id

    # Writers

    def write_job(self, document: Mapping[str, Any]) -> None:
        """Replace the job's document at once: readers see the old one or the new one."""
        folder = self.job_dir(str(document["jobId"]))
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{JOB}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.replace(temporary, folder / JOB)

    @contextmanager
    def log_writer(self, job_id: str) -> Iterator[EventWriter]:
        """Append events to the job's logs.jsonl, each flushed as one whole line."""
        folder = self.job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOGS, "a", encoding="utf-8") as file:

            def write(event: Mapping[str, Any]) -> None:
                file.write(json.dumps(event) + "\n")
                file.flush()

            yield write

    def progress_log(self, job_id: str) -> Path:
        """The job's progress.jsonl, created empty (the runtime only appends to it)."""
        folder = self.job_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / PROGRESS
        path.touch(exist_ok=True)
        return path

    # Readers

    def read_job(self, job_id: str) -> dict[str, Any] | None:
        if not valid_id(job_id):
            return None
        try:
            document = json.loads((self.jobs_dir / job_id / JOB).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def list_jobs(self) -> list[dict[str, Any]]:
        """Every top-level job (array children are not listed), newest first."""
        found = [self.read_job(job_id) for job_id in self._top_level_ids()]
        jobs = [j for j in found if j is not None]
        jobs.sort(key=lambda j: (j.get("createdAt") or 0, str(j.get("jobId"))), reverse=True)
        return jobs

    def children(self, job_id: str) -> list[dict[str, Any]]:
        """An array job's children in index order (those recorded so far)."""
        parent = self.read_job(job_id)
        size = ((parent or {}).get("arrayProperties") or {}).get("size") or 0
        found = (self.read_job(child_id(job_id, i)) for i in range(int(size)))
        return [child for child in found if child is not None]

    def read_logs(self, job_id: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._read_lines(job_id, LOGS, offset)

    def read_progress(self, job_id: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self._read_lines(job_id, PROGRESS, offset)

    def latest_progress(self, job_id: str) -> dict[str, Any] | None:
        """The job's last progress event, read from the end of the file."""
        if not valid_id(job_id):
            return None
        try:
            with open(self.jobs_dir / job_id / PROGRESS, "rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - _TAIL_BYTES))
                tail = file.read()
        except OSError:
            return None
        for line in reversed(tail.splitlines()):
            event = _event(line)
            if event is not None:
                return event
        return None

    def stamp(self, job_id: str) -> int:
        """Changes whenever one of the job's files does; 0 for a job that does not exist."""
        if not valid_id(job_id):
            return 0
        folder = self.jobs_dir / job_id
        stamp = 0
        for name in (JOB, LOGS, PROGRESS):
            try:
                stamp = max(stamp, os.stat(folder / name).st_mtime_ns)
            except OSError:
                continue
        return stamp

    def stamps(self) -> dict[str, int]:
        """`stamp` of every top-level job: compare two of these to find what changed."""
        return {job_id: self.stamp(job_id) for job_id in self._top_level_ids()}

    def _top_level_ids(self) -> list[str]:
        try:
            names = os.listdir(self.jobs_dir)
        except OSError:
            return []
        return [n for n in names if valid_id(n) and not _CHILD.search(n)]

    def _read_lines(self, job_id: str, name: str, offset: int) -> tuple[list[dict[str, Any]], int]:
        if not valid_id(job_id):
            return [], offset
        try:
            with open(self.jobs_dir / job_id / name, "rb") as file:
                file.seek(offset)
                data = file.read()
        except OSError:
            return [], offset
        whole = data[: data.rfind(b"\n") + 1]
        events = [e for e in map(_event, whole.splitlines()) if e is not None]
        return events, offset + len(whole)


def valid_id(job_id: str) -> bool:
    return bool(_ID.match(job_id)) and ".." not in job_id


def _event(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
