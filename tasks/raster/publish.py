"""The publisher for a destination, rolled back on any failure and on cancellation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from runtime import TaskContext, UsageError
from runtime.uris import check, local_path
from tasks.raster.publish_local import LocalPublisher
from tasks.raster.publisher import Publisher

__all__ = ["Publisher", "publishing"]


@contextmanager
def publishing(destination: str, ctx: TaskContext) -> Iterator[Publisher]:
    """A publisher for `destination` that rolls back on any failure and on cancellation."""
    check(destination)
    publisher: Publisher
    if local_path(destination) is not None:
        publisher = LocalPublisher(lambda: ctx.cancelled)
    elif destination.startswith("s3://"):
        from tasks.raster.publish_s3 import S3Publisher, split

        split(destination)
        publisher = S3Publisher(lambda: ctx.cancelled, ctx.scratch, ctx.track_upload)
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
