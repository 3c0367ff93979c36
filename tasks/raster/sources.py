"""Where rasters come from: URI to GDAL path, download, open.

Shared by every raster task so that a URI means the same thing everywhere and the same policy
refuses the same URIs (runtime.uris.check).
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from runtime import Cancelled, InputError, InputNotFound, PermissionDenied, TransientError
from runtime.errors import TaskError
from runtime.uris import HTTP_TIMEOUT, as_task_error, check, http_error, local_path
from tasks.raster.gdal_errors import gdal_error

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

CHUNK = 16 * 1024 * 1024
READ = 1024 * 1024
DOWNLOAD_THREADS = 8
# Room the conversion needs next to a downloaded input: the COG (about as big) and GDAL's
# temporary overview file.
SCRATCH_FACTOR = 2.5


@dataclass(frozen=True)
class Source:
    """One input as the user named it, and how GDAL reaches it."""

    uri: str
    gdal_path: str
    size: int
    version: str

    @property
    def remote(self) -> bool:
        return local_path(self.uri) is None

    @property
    def name(self) -> str:
        return urlparse(self.uri).path.rsplit("/", 1)[-1] or "source"


def resolve(uri: str) -> Source:
    """Check the URI against the policy and that the input exists; 65, 66, 75 or 77 if not."""
    check(uri)
    path = local_path(uri)
    if path is not None:
        return _local(uri, path)
    if uri.startswith("s3://"):
        return _s3(uri)
    return _http(uri)


def _local(uri: str, path: Path) -> Source:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputNotFound(f"{uri!r} does not exist; check the path") from None
    except PermissionError:
        raise PermissionDenied(f"{uri!r} can't be read: permission denied") from None
    if not path.is_file():
        raise InputError(f"{uri!r} is not a file; give the path of a raster file")
    if not os.access(path, os.R_OK):
        raise PermissionDenied(f"{uri!r} can't be read: permission denied")
    return Source(uri, str(path.resolve()), stat.st_size, f"mtime:{stat.st_mtime_ns}")


def _s3(uri: str) -> Source:
    bucket, key = split_s3(uri)
    try:
        head = s3_client().head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        raise as_task_error(exc, uri) from exc
    version = f"s3version:{head['VersionId']}" if head.get("VersionId") else f"etag:{head['ETag']}"
    return Source(uri, f"/vsis3/{bucket}/{key}", int(head["ContentLength"]), version)


def _http(uri: str) -> Source:
    request = urllib.request.Request(uri, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            headers = response.headers
    except urllib.error.HTTPError as exc:
        raise http_error(exc.code, uri) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TransientError(f"{uri!r} could not be reached: {exc}; retry later") from exc
    version = headers.get("ETag") or headers.get("Last-Modified") or ""
    size = int(headers.get("Content-Length") or 0)
    return Source(uri, f"/vsicurl/{uri}", size, f"http:{version}")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise InputError(f"{uri!r} is not an S3 object URI; use s3://bucket/key")
    return bucket, key


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=DOWNLOAD_THREADS * 2, retries={"mode": "standard"})
    return boto3.client("s3", config=config)


def fits_in_scratch(sources: list[Source], scratch: Path) -> bool:
    """Whether downloading every remote input leaves room for the conversion beside it."""
    import shutil

    needed = sum(s.size for s in sources if s.remote) * SCRATCH_FACTOR
    return needed <= shutil.disk_usage(scratch).free


def download(
    source: Source,
    directory: Path,
    cancelled: Callable[[], bool],
    on_bytes: Callable[[int], None],
) -> Source:
    """Fetch a remote input to `directory` with parallel range requests; return it as local.

    The file keeps its name so that GDAL's messages about it still name the user's file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / source.name
    ranges = [
        (start, min(start + CHUNK, source.size) - 1) for start in range(0, source.size, CHUNK)
    ]
    s3 = source.uri.startswith("s3://")
    reader = _s3_range_reader(source) if s3 else _http_range_reader(source)
    lock = threading.Lock()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:

        def fetch(byte_range: tuple[int, int]) -> None:
            offset = byte_range[0]
            for chunk in reader(*byte_range):
                if cancelled():
                    raise Cancelled("the download was cancelled")
                os.pwrite(fd, chunk, offset)
                offset += len(chunk)
                with lock:
                    on_bytes(len(chunk))

        with ThreadPoolExecutor(max_workers=min(DOWNLOAD_THREADS, len(ranges) or 1)) as pool:
            for future in [pool.submit(fetch, r) for r in ranges]:
                future.result()
    except TaskError:
        raise
    except Exception as exc:
        raise as_task_error(exc, source.uri) from exc
    finally:
        os.close(fd)
    return Source(source.uri, str(target), source.size, source.version)


def _s3_range_reader(source: Source) -> Callable[[int, int], Iterator[bytes]]:
    bucket, key = split_s3(source.uri)
    client = s3_client()
    kind, _, value = source.version.partition(":")
    # The object must not change between ranges: pin its version, or its ETag.
    pin = {"VersionId": value} if kind == "s3version" else {"IfMatch": value}

    def read(start: int, end: int) -> Iterator[bytes]:
        try:
            body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}", **pin)
        except Exception as exc:
            if "PreconditionFailed" in str(exc):
                raise TransientError(
                    f"{source.uri!r} changed while it was being downloaded; retry"
                ) from exc
            raise
        yield from body["Body"].iter_chunks(READ)

    return read


def _http_range_reader(source: Source) -> Callable[[int, int], Iterator[bytes]]:
    def read(start: int, end: int) -> Iterator[bytes]:
        request = urllib.request.Request(source.uri, headers={"Range": f"bytes={start}-{end}"})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                if response.status != 206 and (start, end) != (0, source.size - 1):
                    raise InputError(
                        f"{source.uri!r} ignores HTTP range requests; serve it from a "
                        "server that supports them or from S3"
                    )
                while chunk := response.read(READ):
                    yield chunk
        except urllib.error.HTTPError as exc:
            raise http_error(exc.code, source.uri) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"{source.uri!r} could not be read: {exc}; retry later") from exc

    return read


@contextmanager
def open_raster(source: Source) -> Iterator[DatasetReader]:
    """rasterio.open for every task's inputs: GDAL's complaints become exit codes that name the
    input, and a raster that can't be placed on a map is refused before any work starts.
    """
    import rasterio
    from rasterio.errors import RasterioError

    try:
        dataset = rasterio.open(source.gdal_path)
    except RasterioError as exc:
        raise gdal_error(str(exc), source.uri) from exc
    with dataset:
        _require_georeferenced(dataset, source.uri)
        yield dataset


def _require_georeferenced(dataset: DatasetReader, uri: str) -> None:
    """Refuse what can't become a north-up COG with a footprint: 65 with the reason."""
    transform = dataset.transform
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            f"{uri!r} has a rotated geotransform ({tuple(transform)[:6]}); a COG and its "
            "STAC footprint need a north-up grid: warp it first (gdalwarp) or give a "
            "north-up raster"
        )
    if dataset.crs is None or transform.is_identity:
        missing = "CRS" if dataset.crs is None else "geotransform"
        raise InputError(
            f"{uri!r} is not georeferenced (it has no {missing}); assign one "
            "(e.g. gdal_edit.py -a_srs/-a_ullr) or give a georeferenced raster"
        )
