"""Publishing to a local path: written under a hidden name beside the destination, then renamed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from runtime import OutputError
from runtime.uris import local_path
from tasks.raster.publisher import Progress, Publisher


class LocalPublisher(Publisher):
    def __init__(self, cancelled: Callable[[], bool]) -> None:
        super().__init__(cancelled)
        self._staged: list[Path] = []
        self._token = uuid.uuid4().hex[:12]

    def stage(self, uri: str) -> Path:
        final = _path(uri)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{uri!r}: can't create directory {str(final.parent)!r} ({exc.strerror}); "
                "choose a writable destination"
            ) from exc
        staged = final.with_name(f".{final.stem}.{self._token}.partial{final.suffix}")
        with self._lock:
            self._staged.append(staged)
        return staged

    def read_text(self, uri: str) -> str | None:
        try:
            return _path(uri).read_text()
        except FileNotFoundError:
            return None

    def exists(self, uri: str) -> bool:
        return _path(uri).exists()

    def delete(self, uri: str) -> None:
        _path(uri).unlink(missing_ok=True)

    def _put(self, staged: Path, uri: str, content_type: str, on_bytes: Progress) -> None:
        try:
            with open(staged, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(staged, _path(uri))
        except OSError as exc:
            raise OutputError(f"{uri!r} can't be written: {exc}") from exc
        on_bytes(_path(uri).stat().st_size)

    def _discard_staged(self) -> None:
        with self._lock:
            staged, self._staged = self._staged, []
        for path in staged:
            for leftover in path.parent.glob(f"{path.name}*"):
                leftover.unlink(missing_ok=True)


def _path(uri: str) -> Path:
    path = local_path(uri)
    assert path is not None
    return path.absolute()
