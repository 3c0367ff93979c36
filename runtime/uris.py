"""The URIs users may give (local paths, file://, s3://, http(s)://) and how small documents
such as `--params` and manifests are read from them, with failures mapped to exit codes.

Other GDAL `/vsi...` prefixes and addresses of the instance metadata service are refused:
a job parameter must not be a way to read the container's credentials.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from runtime.errors import (
    InputError,
    InputNotFound,
    PermissionDenied,
    TaskError,
    TransientError,
    classify,
)

SCHEMES = ("", "file", "s3", "http", "https")
_METADATA = ipaddress.ip_address("fd00:ec2::254")
HTTP_TIMEOUT = 30


def check(uri: str) -> str:
    """Refuse what SPEC forbids; return the URI unchanged when it is allowed."""
    if uri.startswith("/vsi"):
        raise InputError(
            f"{uri!r}: GDAL /vsi... paths are not accepted; give a local path, "
            "file://, s3:// or https:// URI"
        )
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower() if len(parsed.scheme) > 1 else ""
    if scheme not in SCHEMES:
        raise InputError(
            f"{uri!r}: unsupported scheme {parsed.scheme!r}; use a local path, "
            "file://, s3:// or https://"
        )
    if scheme in ("http", "https"):
        _refuse_link_local(uri, parsed.hostname or "", parsed.port)
    return uri


def local_path(uri: str) -> Path | None:
    """The filesystem path of a local or file:// URI, else None."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(parsed.path)
    return Path(uri) if len(parsed.scheme) <= 1 else None


def read_text(uri: str) -> str:
    check(uri)
    path = local_path(uri)
    if path is not None:
        try:
            return path.read_text()
        except FileNotFoundError:
            raise InputNotFound(f"{uri!r} does not exist") from None
        except PermissionError:
            raise PermissionDenied(f"{uri!r} can't be read: permission denied") from None
    if uri.startswith("s3://"):
        return _read_s3(uri)
    return _read_http(uri)


def _read_s3(uri: str) -> str:
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return body.read().decode()
    except Exception as exc:
        raise as_task_error(exc, uri) from exc


def _read_http(uri: str) -> str:
    try:
        with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT) as response:
            return response.read().decode()
    except urllib.error.HTTPError as exc:
        raise http_error(exc.code, uri) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TransientError(f"{uri!r} could not be reached: {exc}") from exc


def http_error(status: int, uri: str) -> TaskError:
    if status == 404:
        return InputNotFound(f"{uri!r} does not exist (HTTP 404)")
    if status in (401, 403):
        return PermissionDenied(f"{uri!r} refused access (HTTP {status}); check credentials")
    if status == 429 or status >= 500:
        return TransientError(f"{uri!r} answered HTTP {status}; retry later")
    return InputError(f"{uri!r} answered HTTP {status}")


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
    return kind(f"{uri!r} {what}: {exc}")


def _refuse_link_local(uri: str, host: str, port: int | None) -> None:
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TransientError(f"{uri!r}: host {host!r} can't be resolved ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_link_local or address == _METADATA:
            raise InputError(
                f"{uri!r} resolves to {address}, a link-local or instance-metadata "
                "address; such URLs are refused"
            )
