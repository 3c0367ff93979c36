"""One log event as the sinks receive it.

The line is rendered once, where the event is made; the few facts a transport needs from it
(the syslog header's time and severity) travel beside it, so that no sink parses the line
back and a change in the renderer's key order can't change what a sink sends.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    line: str
    """The event's JSON object, without a trailing newline."""
    timestamp: float
    """Seconds since the epoch, UTC."""
    level: str
    """debug, info, warning, error or critical."""
