"""Every document a user hands in, read one way: bounded, decoded, and failing clearly.

Parameter documents (`--params`), manifests, job definitions, workflow files and AOI files may
come from a local path, file://, s3:// or http(s)://. Each is read with a size cap (16 MiB; a
manifest of 10,000 items is well under 1 MiB), must be a regular file (a FIFO would block the
reader forever, /dev/zero would fill memory), and must be UTF-8 text. Every failure is a
`TaskError` whose message names the input (`--manifest 'file:///dev/zero'`) and says what to
do, with SPEC's exit code:

- 64: a name that can't exist (empty, NUL, too long, no bucket or key, bad port);
- 65: too large, not a regular file, binary or not UTF-8, a refused URI, other S3 refusals,
  YAML aliases expanding past a million values;
- 66: not found (ENOENT, NoSuchKey, HTTP 404);
- 75: network errors, throttling, 5xx, timeouts;
- 77: permission denied (EACCES, AccessDenied, HTTP 401/403, no AWS credentials).
"""

from __future__ import annotations

import errno
import http.client
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from runtime import uris
from runtime.errors import (
    InputError,
    InputNotFound,
    PermissionDenied,
    TaskError,
    TransientError,
    UsageError,
    classify,
)

MAX_BYTES = 16 * 1024 * 1024
# A 16 MiB JSON document holds at most a few million values; YAML aliases can hold billions.
MAX_VALUES = 1_000_000
_LIMIT = "16 MiB"
_TRANSIENT_READS = {"IncompleteReadError", "ProtocolError", "ReadTimeoutError"}


def read_text(uri: str, what: str = "document") -> str:
    """The UTF-8 text of the document at `uri`; `what` names it in messages (`--manifest`)."""
    label = f"{what} {uris.shown(uri)}"
    return decode(read_bytes(uri, what), label)


def read_bytes(uri: str, what: str = "document") -> bytes:
    """At most MAX_BYTES from `uri`; a longer document is refused, never truncated."""
    label = f"{what} {uris.shown(uri)}"
    if not uri.strip():
        raise UsageError(f"{what} is empty: give a path or an s3:// or https:// URI")
    try:
        uris.check(uri)
    except TaskError as exc:
        raise type(exc)(f"{what}: {exc}") from None
    path = uris.local_path(uri)
    if path is not None:
        return _read_local(path, label)
    if uri.startswith("s3://"):
        return _read_s3(uri, label)
    return _read_http(uri, what)


def decode(data: bytes, label: str) -> str:
    """Strict UTF-8 (a leading BOM is dropped); binary content is refused with its offset."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{label} is UTF-16 text: save it as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"{label} holds binary data (a NUL byte at offset {nul}), not text: give UTF-8 text"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{label} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            "save it as UTF-8"
        ) from None


def check_expansion(value: Any, label: str, limit: int = MAX_VALUES) -> None:
    """Refuse a parsed document whose aliases expand it past `limit` values.

    YAML aliases let 1 KiB of text stand for billions of values (nine lists of nine aliases
    nested nine deep: 387 million); the first walk over it would never end. Counted with
    shared references counted each time, as a later walk would meet them.
    """
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            raise InputError(
                f"{label} expands to more than {limit:,} values through YAML aliases "
                "(&anchor / *alias); write the values out or use fewer aliases"
            )
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _too_large(label: str, size: int | None = None) -> InputError:
    how = f"{size:,} bytes" if size is not None else f"more than {_LIMIT}"
    return InputError(
        f"{label} is {how}; documents are read up to {_LIMIT}: split it (a manifest can be "
        "several array jobs) or point to the data instead of inlining it"
    )


def _read_local(path: Path, label: str) -> bytes:
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(exc, label) from None
    except (UnicodeEncodeError, ValueError):
        raise UsageError(f"{label} is not a valid file name") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"{label} is {_kind(info.st_mode)}, not a file: give the path of a document"
            )
        if info.st_size > MAX_BYTES:
            raise _too_large(label, info.st_size)
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _os_error(exc, label) from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _too_large(label)
    return data


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_error(exc: OSError, label: str) -> TaskError:
    code = exc.errno
    if code in (errno.ENOENT, errno.ENOTDIR):
        return InputNotFound(f"{label} does not exist; check the path")
    if code in (errno.EACCES, errno.EPERM):
        return PermissionDenied(f"{label} can't be read: permission denied")
    if code == errno.ENAMETOOLONG:
        return UsageError(
            f"{label} is too long to be a file name; give a shorter path, or the document "
            "itself where the option takes inline JSON"
        )
    if code in (errno.ENXIO, errno.ENODEV, errno.EISDIR):
        return InputError(f"{label} is not a regular file: give the path of a document")
    if code == errno.ELOOP:
        return InputError(f"{label} is a loop of symbolic links; fix the link")
    return InputError(f"{label} can't be read: {exc.strerror}")


def _read_s3(uri: str, label: str) -> bytes:
    bucket, key = uris.s3_bucket_and_key(uri)
    if not key:
        raise UsageError(f"{label} names a bucket but no object: write s3://{bucket}/KEY")
    try:
        import boto3

        answer = boto3.client("s3").get_object(Bucket=bucket, Key=key)
        size = answer.get("ContentLength")
        if isinstance(size, int) and size > MAX_BYTES:
            answer["Body"].close()
            raise _too_large(label, size)
        data = answer["Body"].read(MAX_BYTES + 1)
    except TaskError:
        raise
    except Exception as exc:
        raise _s3_error(exc, label) from exc
    if len(data) > MAX_BYTES:
        raise _too_large(label)
    return data


def _s3_error(exc: Exception, label: str) -> BaseException:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ParamValidationError" in names:
        return UsageError(f"{label} can't be requested from S3: {exc}")
    if "NoCredentialsError" in names:
        return PermissionDenied(
            f"{label}: no AWS credentials were found; give the job a role or set AWS_PROFILE"
        )
    if names & _TRANSIENT_READS:
        return TransientError(f"{label} could not be read completely, try again: {exc}")
    kind = classify(exc)
    if kind is not None:
        what = {InputNotFound: "does not exist", PermissionDenied: "refused access"}
        return kind(f"{label} {what.get(kind, 'could not be reached, try again')}: {exc}")
    if "ClientError" in names:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "?")
        return InputError(f"{label} can't be read from S3 ({code}): {exc}")
    return exc


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URI `uris.check` allows: a redirect must not reach the
    instance metadata service that the first URL would have been refused for."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        uris.check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def _read_http(uri: str, what: str) -> bytes:
    label = f"{what} {uris.shown(uri)}"
    try:
        with _OPENER.open(uri, timeout=uris.HTTP_TIMEOUT) as response:
            declared = response.headers.get("Content-Length", "")
            too_large = declared.isdigit() and int(declared) > MAX_BYTES
            data = b"" if too_large else response.read(MAX_BYTES + 1)
    except TaskError as exc:
        raise type(exc)(f"{label} redirects to a URL that is refused: {exc}") from None
    except urllib.error.HTTPError as exc:
        error = uris.http_error(exc.code, uri)
        raise type(error)(f"{what}: {error}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise TransientError(f"{label} could not be reached, try again: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"{label} is not a URL that can be requested: {exc}") from None
    if too_large:
        raise _too_large(label, int(declared))
    if len(data) > MAX_BYTES:
        raise _too_large(label)
    return data
