"""A bounded queue and one background thread per remote sink, so a sink never holds the task.

`emit` runs on the thread that forwards the run's events: it formats the event for the service
and appends it to a deque; no lock, no I/O, no wake-up per event. The worker sends the first
event at once, so that the connection or the log stream is ready long before the exit (0.35
to 0.65 s of exit time otherwise for a short run). Then it gathers events for `interval`
seconds, or until a full request's worth is waiting (so that about one request at most is
left to send at the exit), hands them to the transport in batches, and retries temporary
failures with the runtime's backoff (`runtime.retry`) for as long as the run lasts. At close
it drains the queue, then asks the transport to confirm what it sent (a stream transport
closes its connection cleanly), and keeps retrying until the deadline. Then it reports what
is not known to have arrived: events refused because the queue was full, events the service
rejected, events still queued or in flight, and events sent on a connection that was never
confirmed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Generic, Protocol, TypeVar

from runtime.retry import SINK_BACKOFF, Retry
from runtime.sinks.record import Record

Item = TypeVar("Item")
CAPACITY = 100_000


class Transport(Protocol[Item]):
    interval: float
    max_count: int
    max_bytes: int

    def prepare(self, record: Record) -> tuple[Item, int]:
        """The event as the service takes it, and its cost against `max_bytes`."""

    def send(self, batch: list[Item], timeout: float) -> int:
        """Write the batch or raise `Retry` (then the same batch is offered again); return
        how many events the service refused. `timeout` bounds any wait on the network."""

    def settle(self, timeout: float) -> None:
        """Make sure what was sent arrived, or raise `Retry`; a no-op where `send` already
        had the service's answer."""

    def unconfirmed(self) -> int:
        """Events sent but not yet known to have arrived."""

    def close(self) -> None:
        """Release connections once the queue is drained or abandoned."""


class QueuedSink(Generic[Item]):
    def __init__(self, name: str, transport: Transport[Item], capacity: int = CAPACITY) -> None:
        self.name = name
        self.error: str | None = None
        self._transport = transport
        self._capacity = capacity
        self._items: deque[tuple[Item, int]] = deque()
        self._dropped = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._first = True
        self._bytes_queued = 0
        """Grows in `emit` only; `_bytes_taken` grows in the worker only: no lock needed."""
        self._bytes_taken = 0
        self._thread = threading.Thread(target=self._run, name=f"sink:{name}", daemon=True)
        self._thread.start()

    def emit(self, record: Record) -> None:
        """Format the event for the service here, on the caller's thread, and queue it.

        The worker then mostly waits on the network, with the GIL released. Formatting there
        instead made it hold the GIL for a whole batch at a time, and every write the
        supervisor made meanwhile waited for the interpreter's switch interval (5 ms).
        """
        queued = len(self._items)
        if queued >= self._capacity:
            self._count_dropped(1, "queue full")
            return
        try:
            item = self._transport.prepare(record)
        except Exception as exc:
            self._count_dropped(1, f"{type(exc).__name__}: {exc}")
            return
        self._items.append(item)
        self._bytes_queued += item[1]
        if self._wake.is_set():
            return
        full = self._bytes_queued - self._bytes_taken >= self._transport.max_bytes
        if full or queued + 1 >= self._transport.max_count or self._first:
            self._first = False
            self._wake.set()

    def close(self, budget_seconds: float) -> int:
        self._deadline = time.monotonic() + max(0.0, budget_seconds)
        self._closing.set()
        self._wake.set()
        self._thread.join(max(0.0, budget_seconds))
        if self._thread.is_alive():
            self.error = self.error or "still delivering when the exit budget ran out"
        with self._count_lock:
            queued = len(self._items) + self._in_flight
            return self._dropped + queued + self._transport.unconfirmed()

    def _count_dropped(self, count: int, reason: str) -> None:
        with self._count_lock:
            self._dropped += count
            self.error = self.error or reason

    def _run(self) -> None:
        while True:
            self._wake.wait(self._transport.interval)
            self._wake.clear()
            closing = self._closing.is_set()
            while self._items and not self._expired():
                self._deliver(self._take())
            if closing and (not self._items or self._expired()):
                break
        self._settle()
        self._transport.close()

    def _take(self) -> list[Any]:
        """Pop the longest run of queued events that fits one request of the transport."""
        batch: list[Any] = []
        size = 0
        while self._items and len(batch) < self._transport.max_count:
            item, cost = self._items[0]
            if batch and size + cost > self._transport.max_bytes:
                break
            self._items.popleft()
            batch.append(item)
            size += cost
        self._bytes_taken += size
        self._in_flight = len(batch)
        return batch

    def _deliver(self, batch: list[Any]) -> None:
        failures = 0
        while True:
            try:
                refused = self._transport.send(batch, self._remaining())
            except Retry as exc:
                self._note(exc)
                failures += 1
                if self._back_off(failures):
                    continue
                with self._count_lock:
                    self._in_flight = 0
                    self._dropped += len(batch)
                return
            except Exception as exc:
                self._count_dropped(len(batch), f"{type(exc).__name__}: {exc}")
            else:
                if refused:
                    self._count_dropped(refused, "events refused by the service")
            self._in_flight = 0
            return

    def _settle(self) -> None:
        """Have the transport confirm what it sent, trying again until the deadline."""
        failures = 0
        while not self._expired():
            try:
                self._transport.settle(self._remaining())
                return
            except Retry as exc:
                self._note(exc)
                failures += 1
                if not self._back_off(failures):
                    return

    def _note(self, exc: Retry) -> None:
        self.error = f"{type(exc.__cause__ or exc).__name__}: {exc}"

    def _back_off(self, failures: int) -> bool:
        """Sleep before the next attempt; False once the close deadline leaves no time for one."""
        delay = SINK_BACKOFF.delay(failures)
        if not self._closing.is_set():
            self._closing.wait(delay)
            return True
        remaining = self._remaining()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        return not self._expired()

    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _expired(self) -> bool:
        return time.monotonic() >= self._deadline
