"""What a progress sink promises the reporter, and how long to wait before trying it again.

A sink only knows its own protocol; it says whether a failure is worth another try (`Retry`,
with the server's own delay when it named one) or final (`Rejected`). The reporter decides
when to try again, so that retries share one policy and can be cut short at exit.
"""

from __future__ import annotations

import random
from typing import Protocol

REQUEST_TIMEOUT = 5.0
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 60.0


class Retry(Exception):
    """A failure worth another try: the endpoint is down, throttling, or failing for now."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Rejected(Exception):
    """The endpoint refused the event for a reason no retry will fix (a bad token, a 404)."""


class Sink(Protocol):
    target: str
    """Where events go, fit for a log line: no credentials, no query string."""

    def send(self, body: bytes, timeout: float) -> None:
        """Deliver one JSON event, or raise `Retry` or `Rejected`."""


def backoff(failures: int, retry_after: float | None = None) -> float:
    """Seconds before the next try.

    Exponential with jitter, so that the children of a large array job that lost the same
    endpoint do not come back in lockstep; a server's Retry-After wins, within reason.
    """
    if retry_after is not None:
        return min(max(0.0, retry_after), MAX_RETRY_AFTER)
    ceiling = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (failures - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)
