"""Atomic publishing of a task's files: what every destination's publisher does.

A reader never sees a partial output: local files are written under a hidden name in the
destination directory and renamed into place (`publish_local`); S3 objects appear whole
(put_object, or a multipart upload completed only at the end: `publish_s3`). A run that fails
or is cancelled removes what it staged and what it already published, and aborts its
multipart uploads, from its own thread or, when that thread is stuck in a long call, from
`ctx.on_cancel`; if its process dies, the supervisor aborts the uploads it declared.

Which output already at the destination counts as complete is tasks.raster.completion's rule.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from runtime import Cancelled

Progress = Callable[[int], None]


class Publisher(ABC):
    """Stages files next to (or on the way to) their destination, then publishes them whole."""

    def __init__(self, cancelled: Callable[[], bool]) -> None:
        self._cancelled = cancelled
        self._lock = threading.Lock()
        self._published: list[str] = []
        self._rolled_back = False

    @abstractmethod
    def stage(self, uri: str) -> Path:
        """Where to write the file that will be published at `uri`."""

    @abstractmethod
    def read_text(self, uri: str) -> str | None: ...

    @abstractmethod
    def exists(self, uri: str) -> bool: ...

    @abstractmethod
    def delete(self, uri: str) -> None: ...

    @abstractmethod
    def _put(self, staged: Path, uri: str, content_type: str, on_bytes: Progress) -> None: ...

    @abstractmethod
    def _discard_staged(self) -> None: ...

    def publish(
        self, staged: Path, uri: str, content_type: str, on_bytes: Progress = lambda _: None
    ) -> None:
        """Make `staged` appear at `uri` in one step; undone by `rollback()`."""
        self._check_open()
        with self._lock:
            self._published.append(uri)
        self._put(staged, uri, content_type, on_bytes)
        if self._rolled_back:
            self.delete(uri)
            raise Cancelled("the task was cancelled while publishing")

    def rollback(self) -> None:
        """Remove every trace of this run at the destination; safe twice and from any thread."""
        with self._lock:
            self._rolled_back = True
            published, self._published = self._published, []
        self._discard_staged()
        for uri in reversed(published):
            with suppress(Exception):
                self.delete(uri)

    def _check_open(self) -> None:
        if self._rolled_back or self._cancelled():
            raise Cancelled("the task was cancelled before publishing")
