"""What the task's process tells its supervisor, one line at a time through a pipe.

    E <level> <epoch seconds> <event JSON>     a log event, rendered and redacted once
    P <JSON {fraction, stage, message}>        the newest progress value
    U <JSON {bucket, key, upload_id}>          an S3 multipart upload was started...
    D <upload_id>                              ...and completed or aborted by the task
    R <JSON outcome>                           the task returned or raised: its last word

The log line travels as rendered, with its level and time beside it, so the supervisor never
parses it again: forwarding an event costs a split, not a JSON decode. JSON never holds a raw
newline, so a line is a message.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

LOG, PROGRESS, UPLOAD, DONE, RESULT = b"E", b"P", b"U", b"D", b"R"
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class Writer:
    """The task process's end. Safe from any thread: one `os.write` per message, under a lock."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def log(self, line: str, timestamp: float, level: str) -> None:
        # A lone surrogate (from a file name, say) becomes its JSON escape, not a crash.
        data = line.encode("utf-8", "backslashreplace")
        self._send(b"E %s %.3f %s\n" % (level.encode(), timestamp, data))

    def progress(self, fraction: float, stage: str | None, message: str | None) -> None:
        body = {"fraction": fraction, "stage": stage, "message": message}
        self._send(b"P " + _encode(body).encode() + b"\n")

    def upload_started(self, bucket: str, key: str, upload_id: str) -> None:
        body = {"bucket": bucket, "key": key, "upload_id": upload_id}
        self._send(b"U " + _encode(body).encode() + b"\n")

    def upload_done(self, upload_id: str) -> None:
        self._send(b"D " + upload_id.encode() + b"\n")

    def result(self, outcome: dict[str, Any]) -> None:
        self._send(b"R " + _encode(outcome).encode() + b"\n")

    def _send(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]


class Lines:
    """Splits what arrives on a pipe into whole lines; a partial line waits for its end."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()
        return lines

    def tail(self) -> list[bytes]:
        """What is left when the pipe closed: a last line written without its newline."""
        rest, self._rest = self._rest, b""
        return [rest] if rest else []


def messages(lines: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for line in lines:
        kind, _, body = line.partition(b" ")
        yield kind, body


def log_parts(body: bytes) -> tuple[str, float, str]:
    """(level, timestamp, line) of an `E` message."""
    level, timestamp, line = body.split(b" ", 2)
    return level.decode(), float(timestamp), line.decode()
