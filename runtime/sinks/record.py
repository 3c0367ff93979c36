"""One log event as the sinks receive it.

The line is rendered once, where the event is made; the few facts a transport needs from it
(the syslog header's time and severity) travel beside it, so that no sink parses the line
back and a change in the renderer's key order can't change what a sink sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_MARGIN_MS = 1e-3


@dataclass(frozen=True, slots=True)
class Record:
    line: str
    """The event's JSON object, without a trailing newline."""
    timestamp: float
    """Seconds since the epoch, UTC."""
    level: str
    """debug, info, warning, error or critical."""

    @property
    def millis(self) -> int:
        """The time in whole milliseconds since the epoch, as the line's own timestamp shows it.

        Cut, not rounded, as the renderer cuts; with a microsecond's margin, so that a time
        parsed back from that text (whose float may fall a hair below the millisecond) lands
        on the same millisecond.
        """
        return math.floor(self.timestamp * 1000 + _MARGIN_MS)
