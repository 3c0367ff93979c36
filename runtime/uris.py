"""The URIs users may give (local paths, file://, s3://, http(s)://): which are allowed, and
how library failures on them map to exit codes.

Other GDAL `/vsi...` prefixes and addresses of the instance metadata service are refused (65,
SPEC "Rules both follow"): a job parameter must not be a way to read the container's
credentials. A URI that can't name anything (no bucket, no host, a bad port, a NUL byte) is a
usage error (64). Documents are read through `runtime.documents`, which bounds their size.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path
from urllib.parse import ParseResult, urlparse

from runtime.errors import (
    InputError,
    InputNotFound,
    PermissionDenied,
    TaskError,
    TransientError,
    UsageError,
    classify,
)

SCHEMES = ("", "file", "s3", "http", "https")
_METADATA = ipaddress.ip_address("fd00:ec2::254")
HTTP_TIMEOUT = 30
# botocore's own check of a bucket name (legacy names included); anything else would fail
# inside boto3 with a ParamValidationError instead of a message naming the input.
_BUCKET = re.compile(r"^[a-zA-Z0-9.\-_]{1,255}$")
S3_KEY_MAX_BYTES = 1024
# Linux's limits for one path component and a whole path.
NAME_MAX = 255
PATH_MAX = 4096
_SHOWN = 80


def check(uri: str) -> str:
    """Refuse what SPEC forbids or what names nothing; return the URI unchanged when allowed."""
    if "\x00" in uri:
        raise UsageError(f"{shown(uri)} contains a NUL character, which no name can hold")
    if uri.startswith("/vsi"):
        raise InputError(
            f"{shown(uri)}: GDAL /vsi... paths are not accepted; give a local path, "
            "file://, s3:// or https:// URI"
        )
    parsed = _parse(uri)
    scheme = parsed.scheme.lower() if len(parsed.scheme) > 1 else ""
    if scheme not in SCHEMES:
        raise InputError(
            f"{shown(uri)}: unsupported scheme {parsed.scheme!r}; use a local path, "
            "file://, s3:// or https://"
        )
    if scheme and not uri.startswith(f"{scheme}:"):
        # The code that reads and writes (GDAL, boto3, publishing) matches schemes as
        # written: `S3://b/k` would otherwise become a local directory named `S3:`.
        raise UsageError(f"{shown(uri)}: write the scheme in lowercase, {scheme}://")
    if scheme in ("", "file"):
        _check_name_length(uri, local_path(uri) or Path(uri))
    if scheme == "s3":
        s3_bucket_and_key(uri)
    if scheme in ("http", "https"):
        host, port = _host_and_port(uri, parsed)
        _refuse_link_local(uri, host, port)
    return uri


def local_path(uri: str) -> Path | None:
    """The filesystem path of a local or file:// URI, else None."""
    parsed = _parse(uri)
    if parsed.scheme == "file":
        return Path(parsed.path)
    return Path(uri) if len(parsed.scheme) <= 1 else None


def s3_bucket_and_key(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/key`; a missing or malformed bucket is a usage error naming the URI.

    The key may be empty (a prefix); callers that need an object check it themselves.
    """
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise UsageError(f"{shown(uri)} names no bucket: write s3://BUCKET/KEY")
    if not _BUCKET.match(bucket):
        raise UsageError(
            f"{shown(uri)}: {shown(bucket)} is not a valid S3 bucket name "
            "(letters, digits, '.', '-' and '_', at most 255 characters)"
        )
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise UsageError(f"{shown(uri)}: the key is not valid Unicode text") from None
    if size > S3_KEY_MAX_BYTES:
        raise UsageError(
            f"{shown(uri)}: the key is {size} bytes long; S3 keys hold at most "
            f"{S3_KEY_MAX_BYTES} bytes"
        )
    return bucket, key


def http_error(status: int, uri: str) -> TaskError:
    if status == 404:
        return InputNotFound(f"{shown(uri)} does not exist (HTTP 404)")
    if status in (401, 403):
        return PermissionDenied(f"{shown(uri)} refused access (HTTP {status}); check credentials")
    if status == 429 or status >= 500:
        return TransientError(f"{shown(uri)} answered HTTP {status}; retry later")
    return InputError(f"{shown(uri)} answered HTTP {status}")


def as_task_error(exc: BaseException, uri: str) -> BaseException:
    """Name the URI in a classified library error; leave unknown errors as the bugs they are."""
    kind = classify(exc)
    if kind is None:
        return exc
    if isinstance(exc, TaskError):
        return exc
    what = {
        InputNotFound: "does not exist",
        PermissionDenied: "refused access",
        TransientError: "could not be reached",
    }.get(kind, "failed")
    return kind(f"{shown(uri)} {what}: {exc}")


def shown(text: str) -> str:
    """A user's URI as messages quote it: repr, cut so that one bad input is one line."""
    return repr(text if len(text) <= _SHOWN else f"{text[: _SHOWN - 3]}...")


def _check_name_length(uri: str, path: Path) -> None:
    """A path no file system can hold is a usage error here, not an OSError in a task."""
    try:
        encoded = os.fsencode(path)
    except UnicodeEncodeError:
        raise UsageError(f"{shown(uri)} is not a valid file name") from None
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > NAME_MAX or len(encoded) > PATH_MAX:
        raise UsageError(
            f"{shown(uri)} is too long to be a file name (a name holds at most {NAME_MAX} "
            f"bytes, a path {PATH_MAX}); give a shorter path"
        )


def _parse(uri: str) -> ParseResult:
    try:
        return urlparse(uri)
    except ValueError as exc:
        raise UsageError(f"{shown(uri)} is not a valid URI: {exc}") from None


def _host_and_port(uri: str, parsed: ParseResult) -> tuple[str, int | None]:
    try:
        port = parsed.port
    except ValueError as exc:
        raise UsageError(f"{shown(uri)} has an invalid port: {exc}") from None
    host = parsed.hostname or ""
    if not host:
        raise UsageError(f"{shown(uri)} names no host: write https://HOST/PATH")
    return host, port


def _refuse_link_local(uri: str, host: str, port: int | None) -> None:
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except UnicodeError:
        raise UsageError(f"{shown(uri)}: {shown(host)} is not a valid host name") from None
    except socket.gaierror as exc:
        raise TransientError(f"{shown(uri)}: host {host!r} can't be resolved ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_link_local or address == _METADATA:
            raise InputError(
                f"{shown(uri)} resolves to {address}, a link-local or instance-metadata "
                "address; such URLs are refused"
            )
