"""Progress of one run, as SPEC's progress events: STARTING, RUNNING..., SUCCEEDED or FAILED.

`endpoint_from_env` reads `PROGRESS_URL` and `PROGRESS_TOKEN`. Each endpoint's module, and
the terminal bar's, is imported only when it is used: an http URL does not import boto3, a run
in AWS Batch does not import tqdm. (An endpoint receives progress events; the log sinks of
`runtime.sinks` receive log lines.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO
from urllib.parse import urlsplit

from runtime.errors import UsageError
from runtime.job import Job
from runtime.progress.delivery import Endpoint
from runtime.progress.reporter import Reporter

__all__ = ["Reporter", "endpoint_from_env", "reporter"]


def reporter(
    *,
    task: str,
    job: Job,
    log: Any,
    endpoint: Endpoint | None,
    redact: Callable[[str], str] = str,
    record: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Reporter:
    """The run's reporter; with a progress bar on stderr when stdout is a terminal.

    `record` names a file that gets every event as a JSON line, as `PROGRESS_URL` would:
    `batch-task local` sets it (`BATCH_TASK_PROGRESS_LOG`) to keep a local job's progress.
    """
    stdout = stdout or sys.stdout
    return Reporter(
        task=task,
        job=job,
        log=log,
        endpoint=endpoint,
        redact=redact,
        record=record,
        terminal=(stderr or sys.stderr) if stdout.isatty() else None,
    )


def endpoint_from_env(environ: Mapping[str, str], job: Job) -> Endpoint | None:
    """The endpoint `PROGRESS_URL` names, or None when it is unset.

    Raises UsageError for a URL or token it can't use, naming the variable but never showing
    its value: a webhook URL may carry a credential of its own, and the token is one.
    """
    url = environ.get("PROGRESS_URL", "").strip()
    if not url:
        return None
    if not _printable(url):
        raise UsageError("PROGRESS_URL contains spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        try:
            valid = bool(parts.hostname) and parts.port != 0
        except ValueError:
            valid = False
        if not valid:
            raise UsageError(f"PROGRESS_URL needs a host and a valid port after {scheme}://")
        token = environ.get("PROGRESS_TOKEN", "").strip()
        if not _printable(token):
            raise UsageError("PROGRESS_TOKEN contains spaces or control characters")
        from runtime.progress.http import HttpEndpoint

        return HttpEndpoint(url, token or None)
    if scheme == "s3":
        if not parts.netloc:
            raise UsageError("PROGRESS_URL has no bucket: use s3://bucket/prefix")
        from runtime.progress.s3 import S3Endpoint

        return S3Endpoint(parts.netloc, parts.path.strip("/"), job.job_id)
    shown = f"{scheme!r}" if scheme else "none"
    raise UsageError(
        f"PROGRESS_URL has an unknown scheme ({shown}): use http://, https:// or s3://bucket/prefix"
    )


def _printable(value: str) -> bool:
    """True if `value` can go into a request line or header as it is (RFC 9110 visible chars)."""
    return all(" " < char < "\x7f" for char in value)
