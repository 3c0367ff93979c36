"""Publishing to S3: put_object, or a multipart upload completed only once every part is in."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Any

from runtime import OutputError, UsageError
from runtime.errors import TaskError, classify
from tasks.raster.publisher import Progress, Publisher

MULTIPART_THRESHOLD = 64 * 1024 * 1024
MIN_PART = 16 * 1024 * 1024
MAX_PARTS = 10_000
UPLOAD_THREADS = 4

Track = Callable[[str, str, str], Callable[[], None]]
"""`ctx.track_upload`: the supervisor aborts a declared upload if this process dies."""


class S3Publisher(Publisher):
    def __init__(self, cancelled: Callable[[], bool], scratch: Path, track: Track) -> None:
        from tasks.raster.sources import s3_client

        super().__init__(cancelled)
        self._track = track
        self._client = s3_client()
        self._scratch = scratch / "publish"
        self._uploads: dict[str, tuple[str, str]] = {}

    def stage(self, uri: str) -> Path:
        _, key = split(uri)
        self._scratch.mkdir(parents=True, exist_ok=True)
        return self._scratch / PurePosixPath(key).name

    def read_text(self, uri: str) -> str | None:
        bucket, key = split(uri)
        try:
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
            return body.read().decode()
        except Exception as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise _output_error(exc, uri) from exc

    def exists(self, uri: str) -> bool:
        bucket, key = split(uri)
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise _output_error(exc, uri) from exc
        return True

    def delete(self, uri: str) -> None:
        bucket, key = split(uri)
        self._client.delete_object(Bucket=bucket, Key=key)

    def _put(self, staged: Path, uri: str, content_type: str, on_bytes: Progress) -> None:
        bucket, key = split(uri)
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
        forget = self._track(bucket, key, upload_id)
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
        finally:
            forget()
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


def split(uri: str) -> tuple[str, str]:
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
