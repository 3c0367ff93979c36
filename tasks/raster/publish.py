"""Atomic publishing of a task's files.

A reader never sees a partial output: local files are written under a hidden name in the
destination directory and renamed into place; S3 objects appear whole (put_object, or a
multipart upload completed only at the end). A run that fails or is cancelled removes what
it staged and what it already published, and aborts its multipart uploads, from its own
thread or, when that thread is stuck in a long call, from `ctx.on_cancel`.

Which output already at the destination counts as complete is tasks.raster.completion's rule.
"""

from __future__ import annotations

import math
import os
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import Any

from runtime import Cancelled, OutputError, TaskContext, UsageError
from runtime.errors import TaskError, classify
from runtime.uris import check, local_path

MULTIPART_THRESHOLD = 64 * 1024 * 1024
MIN_PART = 16 * 1024 * 1024
MAX_PARTS = 10_000
UPLOAD_THREADS = 4

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


class S3Publisher(Publisher):
    def __init__(self, cancelled: Callable[[], bool], scratch: Path) -> None:
        from tasks.raster.sources import s3_client

        super().__init__(cancelled)
        self._client = s3_client()
        self._scratch = scratch / "publish"
        self._uploads: dict[str, tuple[str, str]] = {}

    def stage(self, uri: str) -> Path:
        _, key = _split(uri)
        self._scratch.mkdir(parents=True, exist_ok=True)
        return self._scratch / PurePosixPath(key).name

    def read_text(self, uri: str) -> str | None:
        bucket, key = _split(uri)
        try:
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
            return body.read().decode()
        except Exception as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise _output_error(exc, uri) from exc

    def exists(self, uri: str) -> bool:
        bucket, key = _split(uri)
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise _output_error(exc, uri) from exc
        return True

    def delete(self, uri: str) -> None:
        bucket, key = _split(uri)
        self._client.delete_object(Bucket=bucket, Key=key)

    def _put(self, staged: Path, uri: str, content_type: str, on_bytes: Progress) -> None:
        bucket, key = _split(uri)
        size = staged.stat().st_size
        try:
            if size < MULTIPART_THRESHOLD:
                with open(staged, "rb") as body:
                    self._client.put_object(
                        Bucket=bucket, Key=key, Body=body, ContentType=content_type
                    )
                on_bytes(size)
            else:
                self._multipart(staged, bucket, key, size, content_type, on_bytes)
        except TaskError:
            raise
        except Exception as exc:
            raise _output_error(exc, uri) from exc

    def _multipart(
        self, staged: Path, bucket: str, key: str, size: int, content_type: str, on_bytes: Progress
    ) -> None:
        part_size = max(MIN_PART, math.ceil(size / MAX_PARTS))
        upload_id = self._client.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=content_type
        )["UploadId"]
        with self._lock:
            self._uploads[upload_id] = (bucket, key)
        lock = threading.Lock()

        def upload(number: int) -> dict[str, Any]:
            self._check_open()
            offset = (number - 1) * part_size
            with open(staged, "rb") as f:
                f.seek(offset)
                data = f.read(part_size)
            etag = self._client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )["ETag"]
            with lock:
                on_bytes(len(data))
            return {"PartNumber": number, "ETag": etag}

        try:
            with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
                parts = list(pool.map(upload, range(1, math.ceil(size / part_size) + 1)))
            self._check_open()
            self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self._abort(upload_id)
            raise
        with self._lock:
            self._uploads.pop(upload_id, None)

    def _abort(self, upload_id: str) -> None:
        with self._lock:
            target = self._uploads.pop(upload_id, None)
        if target is not None:
            with suppress(Exception):
                self._client.abort_multipart_upload(
                    Bucket=target[0], Key=target[1], UploadId=upload_id
                )

    def _discard_staged(self) -> None:
        for upload_id in list(self._uploads):
            self._abort(upload_id)


@contextmanager
def publishing(destination: str, ctx: TaskContext) -> Iterator[Publisher]:
    """A publisher for `destination` that rolls back on any failure and on cancellation."""
    check(destination)
    publisher: Publisher
    if local_path(destination) is not None:
        publisher = LocalPublisher(lambda: ctx.cancelled)
    elif destination.startswith("s3://"):
        _split(destination)
        publisher = S3Publisher(lambda: ctx.cancelled, ctx.scratch)
    else:
        raise UsageError(
            f"destination {destination!r} can't be written: use a local path, file:// or s3://"
        )
    unregister = ctx.on_cancel(publisher.rollback)
    try:
        yield publisher
    except BaseException:
        publisher.rollback()
        raise
    finally:
        unregister()


def _path(uri: str) -> Path:
    path = local_path(uri)
    assert path is not None
    return path.absolute()


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key or key.endswith("/"):
        raise UsageError(f"destination {uri!r} must name an object: s3://bucket/path/name.tif")
    return bucket, key


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _output_error(exc: BaseException, uri: str) -> BaseException:
    """S3 errors on the output side: a missing bucket is an output problem (73), not 66."""
    if _code(exc) == "NoSuchBucket":
        return OutputError(f"{uri!r} can't be written: the bucket does not exist; create it")
    kind = classify(exc)
    if kind is None:
        return exc
    return kind(f"{uri!r}: {exc}")
