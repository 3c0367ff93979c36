"""What a progress endpoint promises the reporter, and how long to wait before trying it again.

An endpoint only knows its own protocol; it says whether a failure is worth another try (`Retry`,
with the server's own delay when it named one) or final (`Rejected`). The reporter decides
when to try again, so that retries share one policy and can be cut short at exit. The policy
and the table of what is worth retrying are the runtime's one set, in `runtime.retry`.
"""

from __future__ import annotations

from typing import Protocol

from runtime.retry import PROGRESS_BACKOFF, Retry

__all__ = ["REQUEST_TIMEOUT", "Endpoint", "Rejected", "Retry", "backoff"]

REQUEST_TIMEOUT = 5.0
backoff = PROGRESS_BACKOFF.delay
"""Seconds before the next try, given the failures in a row and the server's Retry-After."""


class Rejected(Exception):
    """The endpoint refused the event for a reason no retry will fix (a bad token, a 404)."""


class Endpoint(Protocol):
    target: str
    """Where events go, fit for a log line: no credentials, no query string."""

    def send(self, body: bytes, timeout: float) -> None:
        """Deliver one JSON event, or raise `Retry` or `Rejected`."""
