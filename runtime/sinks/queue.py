"""A bounded queue and one background thread per remote sink, so a sink never holds the task.

`emit` runs on whatever thread logs (the task's, usually) and only appends to a deque: no lock,
no I/O, no wake-up per event. The worker gathers events for `interval` seconds (or until a full
batch is waiting), hands them to the transport in batches, and retries temporary failures with
capped exponential backoff for as long as the run lasts. At close it keeps retrying until the
deadline, then gives up and reports what never arrived: events refused because the queue was
full, events the service rejected, and events still queued or in flight.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from typing import Any, Generic, Protocol, TypeVar

Item = TypeVar("Item")
CAPACITY = 100_000
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class Retry(Exception):
    """A failure worth trying again: network down, throttling, 5xx, a refused handshake."""


class Transport(Protocol[Item]):
    interval: float
    max_count: int
    max_bytes: int

    def prepare(self, line: str) -> tuple[Item, int]:
        """The line as the service takes it, and its cost against `max_bytes`."""

    def send(self, batch: list[Item]) -> int:
        """Deliver the batch or raise `Retry`; return how many events the service refused."""

    def close(self) -> None:
        """Release connections once the queue is drained or abandoned."""


class QueuedSink(Generic[Item]):
    def __init__(self, name: str, transport: Transport[Item], capacity: int = CAPACITY) -> None:
        self.name = name
        self.error: str | None = None
        self._transport = transport
        self._capacity = capacity
        self._lines: deque[str] = deque()
        self._dropped = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name=f"sink:{name}", daemon=True)
        self._thread.start()

    def emit(self, line: str) -> None:
        queued = len(self._lines)
        if queued >= self._capacity:
            self._count_dropped(1, "queue full")
            return
        self._lines.append(line)
        if queued + 1 == self._transport.max_count:
            self._wake.set()

    def close(self, timeout: float) -> int:
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)
        with self._count_lock:
            return self._dropped + len(self._lines) + self._in_flight

    def _count_dropped(self, count: int, reason: str) -> None:
        with self._count_lock:
            self._dropped += count
            self.error = self.error or reason

    def _run(self) -> None:
        while True:
            self._wake.wait(self._transport.interval)
            self._wake.clear()
            closing = self._closing.is_set()
            while self._lines and not self._expired():
                self._deliver(self._take())
            if closing and (not self._lines or self._expired()):
                break
        self._transport.close()

    def _take(self) -> list[Any]:
        """Pop the longest run of queued events that fits one request of the transport."""
        batch: list[Any] = []
        size = 0
        while self._lines and len(batch) < self._transport.max_count:
            item, cost = self._transport.prepare(self._lines[0])
            if batch and size + cost > self._transport.max_bytes:
                break
            self._lines.popleft()
            batch.append(item)
            size += cost
        self._in_flight = len(batch)
        return batch

    def _deliver(self, batch: list[Any]) -> None:
        delay = FIRST_BACKOFF
        while True:
            try:
                refused = self._transport.send(batch)
            except Retry as exc:
                self.error = f"{type(exc.__cause__ or exc).__name__}: {exc}"
                if not self._back_off(delay):
                    break
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            except Exception as exc:
                self._count_dropped(len(batch), f"{type(exc).__name__}: {exc}")
            else:
                if refused:
                    self._count_dropped(refused, "events refused by the service")
            self._in_flight = 0
            return
        with self._count_lock:
            self._in_flight = 0
            self._dropped += len(batch)

    def _back_off(self, delay: float) -> bool:
        """Sleep before the next attempt; False once the close deadline leaves no time for one."""
        delay *= random.uniform(0.5, 1.0)
        if not self._closing.is_set():
            self._closing.wait(delay)
            return True
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        return not self._expired()

    def _expired(self) -> bool:
        return time.monotonic() >= self._deadline
