"""The failures a task can report, and the exit codes AWS Batch retry strategies match.

Every failure is a named type carrying its exit code, so a retry rule in a job definition
(`evaluateOnExit: onExitCode "75"`) and a `raise TransientError(...)` in a task mean the same
thing. Exceptions from boto3, botocore and the network that a task lets escape are classified
here too, so that a throttled S3 call is retried by Batch instead of being reported as a bug.
"""

from __future__ import annotations

import enum

from runtime.retry import retryable


class ExitCode(enum.IntEnum):
    OK = 0
    USAGE = 64
    DATA = 65
    NO_INPUT = 66
    UNAVAILABLE = 69
    SOFTWARE = 70
    CANT_CREATE = 73
    TEMPORARY = 75
    PERMISSION = 77
    TIMEOUT = 124
    SIGINT = 130
    SIGTERM = 143


class TaskError(Exception):
    """Base of the failures a task reports on purpose; the message is shown to the user."""

    exit_code: ExitCode = ExitCode.SOFTWARE
    retryable = False


class UsageError(TaskError):
    """Unknown task, bad or missing parameters: fix the command line."""

    exit_code = ExitCode.USAGE


class InputError(TaskError):
    """The input exists but is unusable: not a raster, corrupt, no georeferencing, bad AOI."""

    exit_code = ExitCode.DATA


class InputNotFound(TaskError):
    """A missing file, an S3 NoSuchKey, an HTTP 404."""

    exit_code = ExitCode.NO_INPUT


class OutputError(TaskError):
    """The output can't be created, or exists from other inputs and `overwrite` is off."""

    exit_code = ExitCode.CANT_CREATE


class TransientError(TaskError):
    """Worth retrying: network errors, throttling, 5xx, service timeouts."""

    exit_code = ExitCode.TEMPORARY
    retryable = True


class PermissionDenied(TaskError):
    """S3 AccessDenied, HTTP 401/403: credentials or policies need fixing, not a retry."""

    exit_code = ExitCode.PERMISSION


class Cancelled(TaskError):
    """Raised inside a task by `ctx.check_cancelled()` once SIGTERM, SIGINT or the deadline came.

    The exit code is decided by what cancelled the task, not by this exception.
    """


_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound", "ResourceNotFoundException"}
_DENIED_CODES = {
    "AccessDenied",
    "403",
    "401",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
    "AccessDeniedException",
}


def classify(exc: BaseException) -> type[TaskError] | None:
    """Map a library exception to the failure it really is, or None for a bug.

    Works on class names so that neither boto3 nor botocore is imported to check; what is
    temporary is `runtime.retry`'s one table, the same the sinks and progress retry on.
    """
    if isinstance(exc, TaskError):
        return type(exc)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ClientError" in names:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND_CODES:
            return InputNotFound
        if code in _DENIED_CODES:
            return PermissionDenied
        return TransientError if retryable(exc) else None
    if "NoCredentialsError" in names:
        return PermissionDenied
    if retryable(exc):
        return TransientError
    if isinstance(exc, FileNotFoundError):
        return InputNotFound
    if isinstance(exc, PermissionError):
        return PermissionDenied
    return None
