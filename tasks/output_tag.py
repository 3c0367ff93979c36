"""Whether a single-file output already at the destination came from this very job.

`tasks.publish.completed` recognises a complete output by the STAC Item published last; an
export publishes one GeoTIFF and no Item, so the fingerprint of inputs and options travels
inside the GeoTIFF as a metadata item instead. The file is published whole (atomic rename or
one S3 object), so finding it means finding it complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime import OutputError
from runtime.errors import TaskError
from tasks.publish import Publisher
from tasks.sources import resolve

KEY = "BATCH_TASK_FINGERPRINT"


@dataclass(frozen=True)
class Existing:
    """An output of this same job, found complete at the destination."""

    width: int
    height: int
    count: int
    crs: str | None
    bounds: tuple[float, float, float, float]
    bytes: int


def existing(
    publisher: Publisher, destination: str, fingerprint: str, overwrite: bool
) -> Existing | None:
    """The output already published by this job, or None once the way is clear to publish.

    A file of other inputs or options, or of unknown origin, is an error without `overwrite`;
    with it the new file replaces the old in one step when it is published.
    """
    if not publisher.exists(destination):
        return None
    found = resolve(destination)
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(found.gdal_path) as dataset:
            tag = dataset.tags().get(KEY)
            summary = Existing(
                dataset.width,
                dataset.height,
                dataset.count,
                dataset.crs.to_string() if dataset.crs else None,
                tuple(dataset.bounds),
                found.size,
            )
    except (RasterioError, TaskError):
        tag = None
    if tag == fingerprint:
        return summary
    if overwrite:
        return None
    origin = "other inputs or options" if tag else "outside this task (it has no fingerprint)"
    raise OutputError(
        f"{destination!r} already exists, made from {origin}; pass --overwrite true to "
        "replace it, or choose another destination"
    )
