"""Fit an event into a service's size limit without dropping it or breaking its JSON.

CloudWatch refuses events over 256 KiB and Papertrail cuts lines at 1 KB (UDP) or 100 KB (TCP).
Cutting the rendered line would leave invalid JSON, and a metric filter on `$.event` would stop
counting the run's `task.succeeded` when its `result` was large. So an oversized event is
replaced by a smaller JSON object: the keys that identify it, a `truncated_from_bytes` marker,
and as much of the original line as fits under `head`.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.events import SPEC_KEYS

KEPT_KEYS = (*SPEC_KEYS, "array_index", "error_type")
_LONGEST_KEPT_VALUE = 100
_PLAIN_MARKER = "...[truncated]"
_MAX_BYTES_PER_CHAR = 4


def fit(line: str, limit: int) -> str:
    """`line` itself when it is at most `limit` UTF-8 bytes, else its shortened form."""
    if len(line) * _MAX_BYTES_PER_CHAR <= limit:
        return line
    size = len(line.encode())
    if size <= limit:
        return line
    try:
        event: Any = json.loads(line)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        event = {}
    kept = {
        key: event[key]
        for key in KEPT_KEYS
        if key in event and len(json.dumps(event[key])) <= _LONGEST_KEPT_VALUE
    }
    kept["truncated_from_bytes"] = size
    room = limit - len(_dumps({**kept, "head": ""}).encode())
    if room <= 0:
        return _cut(line, limit - len(_PLAIN_MARKER)) + _PLAIN_MARKER
    head = _cut(line, room)
    while (over := len(_dumps(head).encode()) - 2 - room) > 0:
        head = head[: len(head) - over]
    return _dumps({**kept, "head": head})


def _cut(text: str, limit: int) -> str:
    return text.encode()[: max(0, limit)].decode("utf-8", "ignore")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
