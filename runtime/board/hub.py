"""The board's memory: the current row of every job, the run records, and the event log.

One thread refreshes each source at its own interval and compares versions; a changed job's
masked row is stored and appended to a bounded log of numbered events, which the events
stream sends and replays from `Last-Event-ID`. Ids start at the board's start time in
milliseconds, so a client still holding an id from a board that restarted is told to reload.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, deque
from typing import Any

from runtime.board import model
from runtime.board.runs import Runs, overlay, sort_key
from runtime.board.secrets import MASK, Masker, Secrets
from runtime.board.sources import Entry, Source, count_children

EVENTS_KEPT = 20_000
RUNS_INTERVAL = 1.0


class Hub:
    def __init__(self, sources: list[Source], runs: Runs, secrets: Secrets) -> None:
        self.sources = sources
        self.runs = runs
        self.secrets = secrets
        self.rows: dict[str, dict[str, Any]] = {}
        self.owner: dict[str, Source] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self._versions: dict[str, Any] = {}
        self._run_versions: dict[str, Any] = {}
        self.log: deque[tuple[int, str, str]] = deque(maxlen=EVENTS_KEPT)
        self.next_id = int(time.time() * 1000)
        self.changed = threading.Condition()
        self.refreshes: Counter[str] = Counter()
        self.settled: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, str] = {}
        self._ordered: list[dict[str, Any]] | None = None
        self._body: bytes | None = None

    def masker(self, raw: dict[str, Any]) -> Masker:
        return Masker(self.secrets.of(raw), raw)

    def _publish(self, kind: str, payload: dict[str, Any]) -> None:
        with self.changed:
            self.next_id += 1
            self.log.append((self.next_id, kind, json.dumps(payload)))
            self.changed.notify_all()

    def refresh_source(self, source: Source) -> None:
        entries = source.refresh()
        for job_id, entry in entries.items():
            self.owner[job_id] = source
            if self._versions.get(job_id) == entry.version:
                continue
            self._versions[job_id] = entry.version
            row = self.row(entry)
            if self.rows.get(job_id) != row:
                self.rows[job_id] = row
                self._ordered = self._body = None
                self._publish("job", row)
        for job_id in [j for j, s in list(self.owner.items()) if s is source and j not in entries]:
            self.rows.pop(job_id, None)
            self._ordered = self._body = None
            self.owner.pop(job_id, None)
            self._versions.pop(job_id, None)
            self._publish("removed", {"job_id": job_id})

    def row(self, entry: Entry) -> dict[str, Any]:
        masker = self.masker(entry.raw)
        return masker.scrub(model.summary(entry.raw, entry.progress, entry.queue))

    def refresh_runs(self) -> None:
        """Re-read run records; a run's nodes are announced when they or their jobs change."""
        records = self.runs.refresh()
        for run_id, (version, record) in records.items():
            shown = overlay(record, self._jobs_of(record))
            known = sorted(str(n.get("job_id")) in self.owner for n in shown["nodes"].values())
            key = (version, json.dumps(shown["nodes"], sort_keys=True), known)
            if self._run_versions.get(run_id) != key:
                self._run_versions[run_id] = key
                self.records[run_id] = self._scrub_run(shown)
                self._publish("run", {"run_id": run_id, "nodes": self.records[run_id]["nodes"]})
        for run_id in set(self.records) - set(records):
            self.records.pop(run_id)
            self._run_versions.pop(run_id, None)

    def _scrub_run(self, record: dict[str, Any]) -> dict[str, Any]:
        """A run's inputs may carry a node's secret: every secret value of its jobs is removed,
        and while one of its jobs is not on the board, every input is masked."""
        unknown = False
        for node in (record.get("nodes") or {}).values():
            job_id = str(node.get("job_id"))
            owner = self.owner.get(job_id)
            entry = owner.entry(job_id) if owner else None
            if entry is None:
                unknown = True
            else:
                record = self.masker(entry.raw).scrub(record)
        if unknown:
            record = {**record, "inputs": {name: MASK for name in record.get("inputs") or {}}}
        return record

    def _jobs_of(self, record: dict[str, Any]) -> dict[str, dict[str, Any]]:
        ids = {str(n.get("job_id")) for n in (record.get("nodes") or {}).values()}
        return {job_id: self.rows[job_id] for job_id in ids if job_id in self.rows}

    def run_forever(self, stop: threading.Event) -> None:
        """Refresh each source when it is due; an error is shown on the page, then retried."""
        due: dict[str, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for source in [*self.sources, self.runs]:
                name = getattr(source, "name", "runs")
                if due.get(name, 0) > now:
                    continue
                interval = getattr(source, "interval", RUNS_INTERVAL)
                due[name] = now + interval
                try:
                    if source is self.runs:
                        self.refresh_runs()
                    else:
                        self.refresh_source(source)  # type: ignore[arg-type]
                    self.refreshes[name] += 1
                    self.settled[name] = {
                        "refreshes": self.refreshes[name],
                        "calls": dict(getattr(source, "calls", {})),
                    }
                    self.errors.pop(name, None)
                except Exception as exc:
                    message = f"{type(exc).__name__}: {exc}"
                    if self.errors.get(name) != message:
                        print(f"batch-task board: refreshing {name}: {message}", file=sys.stderr)
                    self.errors[name] = message
            stop.wait(max(0.05, min(due.values()) - time.monotonic()))

    def since(self, last_id: int) -> list[tuple[int, str, str]] | None:
        """Events after `last_id`, or None when they are no longer kept (the client reloads)."""
        with self.changed:
            if last_id > self.next_id or (self.log and last_id < self.log[0][0] - 1):
                return None
            if not self.log and last_id != self.next_id:
                return None
            return [event for event in self.log if event[0] > last_id]

    def wait(self, last_id: int, timeout: float) -> None:
        with self.changed:
            if self.next_id <= last_id:
                self.changed.wait(timeout)

    def ordered(self) -> list[dict[str, Any]]:
        """Every row, newest first; sorted again only after a change."""
        ordered = self._ordered
        if ordered is None:
            ordered = sorted(
                list(self.rows.values()),
                key=lambda r: (r["created_at"] or "", r["job_id"]),
                reverse=True,
            )
            self._ordered = ordered
        return ordered

    def jobs_body(self) -> bytes:
        """`/api/jobs` without filters, encoded once per change (the page's usual request)."""
        body = self._body
        if body is None:
            body = self._body = json.dumps(self.ordered()).encode()
        return body

    def jobs(self, status: str | None, queue: str | None, text: str | None) -> list[dict[str, Any]]:
        rows = self.ordered()
        if status:
            rows = [r for r in rows if r["status"] == status.upper()]
        if queue:
            rows = [r for r in rows if r["queue"] == queue]
        if text:
            needle = text.lower()
            rows = [
                r
                for r in rows
                if any(needle in str(r[k] or "").lower() for k in ("name", "job_id", "run_id"))
            ]
        return rows

    def find(self, job_id: str) -> tuple[Source, Entry] | None:
        owner = self.owner.get(job_id) or self.owner.get(job_id.split(":", 1)[0])
        for source in [owner] if owner else self.sources:
            entry = source.entry(job_id)
            if entry is not None:
                return source, entry
        return None

    def detail(self, job_id: str) -> dict[str, Any] | None:
        found = self.find(job_id)
        if found is None:
            return None
        source, entry = found
        masker = self.masker(entry.raw)
        events = source.logs(job_id)
        out = model.detail(masker.mask(entry.raw), entry.progress, events, entry.queue)
        started = model.started_params(events)
        if started is not None:
            out["parameters"] = masker.params(started)
        if out["array_size"] and not out["children"]:
            out["children"] = count_children(source.children(job_id))
        return masker.scrub(out)

    def children(self, job_id: str) -> list[dict[str, Any]] | None:
        found = self.find(job_id)
        return None if found is None else found[0].children(job_id)

    def logs(self, job_id: str, since: int) -> list[dict[str, Any]] | None:
        found = self.find(job_id)
        if found is None:
            return None
        source, entry = found
        return self.masker(entry.raw).scrub(source.logs(job_id)[since:])

    def run_records(self) -> list[dict[str, Any]]:
        return sorted(list(self.records.values()), key=sort_key, reverse=True)

    def run_record(self, run_id: str) -> dict[str, Any] | None:
        return self.records.get(run_id)

    def stats(self) -> dict[str, Any]:
        return {
            "jobs": len(self.rows),
            "refreshes": dict(self.refreshes),
            "last_event_id": self.next_id,
            "errors": dict(self.errors),
            "calls": {s.name: dict(s.calls) for s in self.sources},
            "settled": dict(self.settled),
        }
