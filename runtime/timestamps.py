"""SPEC's one time format, for every document that is not a log line: RFC 3339, UTC, ms.

Log lines format theirs in `runtime.logs`, which caches the part up to the second because
it runs once per event; everything else (progress events, local job records, run records, the
board) comes here so that they all read alike.
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(seconds: float) -> str:
    """Epoch seconds as `2026-11-27T14:00:00.123Z` (milliseconds cut, as log lines cut them)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
