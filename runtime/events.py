"""The shape every log event shares, for the code that writes events and the code that cuts them.

It lives apart from `runtime.logs` and `runtime.sinks` so that both can import it without
importing each other.
"""

from __future__ import annotations

SPEC_KEYS = ("timestamp", "level", "event", "logger", "task", "job_id", "attempt")
"""The keys SPEC puts first on every event, in this order."""
