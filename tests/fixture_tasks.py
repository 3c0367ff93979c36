"""Tasks that exist only for the tests, loaded through TASK_MODULES as a user's module is."""

from __future__ import annotations

import enum
import os
import time
from pathlib import Path
from typing import Annotated, Literal

from runtime import (
    InputError,
    InputNotFound,
    OutputError,
    PermissionDenied,
    Secret,
    TaskContext,
    TransientError,
    UsageError,
    task,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@task
def typed(
    ctx: TaskContext,
    name: str,
    count: int = 1,
    ratio: float = 0.5,
    flag: bool = False,
    items: list[str] | None = None,
    numbers: list[int] | None = None,
    options: dict | None = None,
    mode: Literal["fast", "slow"] = "fast",
    color: Color = Color.RED,
    limit: int | None = None,
    token: Annotated[str, Secret] = "",
) -> dict:
    """Return the parameters it received, with their types.

    Args:
        name: any text.
        token: a secret that must never be printed.
    """
    ctx.log.info("typed.seen", token_length=len(token), token_echo=token)
    return {
        "name": name,
        "count": count,
        "ratio": ratio,
        "flag": flag,
        "items": items,
        "numbers": numbers,
        "options": options,
        "mode": mode,
        "color": color.value,
        "limit": limit,
        "token_set": bool(token),
    }


_ERRORS = {
    "usage": UsageError,
    "input": InputError,
    "notfound": InputNotFound,
    "output": OutputError,
    "transient": TransientError,
    "denied": PermissionDenied,
}


@task
def fail(kind: str) -> None:
    """Fail the way `kind` names; `bug` raises an unexpected exception."""
    if kind == "bug":
        raise ZeroDivisionError("division by zero in the fixture")
    raise _ERRORS[kind](f"fixture failure of kind {kind}")


@task
def block(ctx: TaskContext, seconds: float = 600.0, marker: str = "") -> str:
    """Sleep in one uninterruptible call, as a task blocked in GDAL would."""
    if marker:
        ctx.on_cancel(lambda: Path(marker).write_text("cancel callback ran"))
    ctx.log.info("block.sleeping", seconds=seconds)
    time.sleep(seconds)
    return "woke up"


@task
def chatty(ctx: TaskContext, count: int = 1000, size: int = 0) -> int:
    """Log `count` numbered events (payload of `size` characters) as fast as it can."""
    payload = "x" * size
    for i in range(count):
        ctx.log.info("chatty.line", n=i, payload=payload)
    return count


@task
def env_probe(ctx: TaskContext) -> dict:
    """Return what the context saw of the job and the scratch directory."""
    (ctx.scratch / "probe.txt").write_text("x")
    return {
        "job_id": ctx.job.job_id,
        "attempt": ctx.job.attempt,
        "array_index": ctx.job.array_index,
        "scratch": str(ctx.scratch),
        "scratch_existed": ctx.scratch.is_dir(),
        "pid": os.getpid(),
    }


@task
def flaky(ctx: TaskContext) -> int:
    """Fail with a temporary error on the first attempt and succeed on the next, as a retry should.

    The attempt number comes from AWS_BATCH_JOB_ATTEMPT, which Batch (and `batch-task local`)
    sets per attempt.
    """
    if ctx.job.attempt == 1:
        raise TransientError("the first attempt always fails, temporarily")
    return ctx.job.attempt


@task
def segfault(ctx: TaskContext, lines: int = 10) -> None:
    """Log, print, then crash in native code, as a GDAL bug would."""
    import ctypes

    for i in range(lines):
        ctx.log.info("segfault.line", n=i)
    print("printed before the crash", flush=True)
    ctx.progress(0.3, stage="crashing")
    ctypes.string_at(0)


@task
def hog(ctx: TaskContext, megabytes: int = 200, lines: int = 10, marker: str = "") -> None:
    """Log, hold memory, then wait: the test kills it as the out-of-memory killer would."""
    held = bytearray(megabytes * 1024 * 1024)
    for i in range(0, len(held), 4096):
        held[i] = 1
    for i in range(lines):
        ctx.log.info("hog.line", n=i)
    ctx.progress(0.5, stage="holding")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    ctx.wait(600)


@task
def upload_then_hang(ctx: TaskContext, bucket: str, key: str, marker: str) -> None:
    """Start an S3 multipart upload, declare it, then hang until killed."""
    import boto3

    s3 = boto3.client("s3")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    ctx.track_upload(bucket, key, upload_id)
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)
    Path(marker).write_text(str(os.getpid()))
    ctx.log.info("upload.open", upload_id=upload_id)
    time.sleep(600)
