"""Whether the destination already holds this job's complete output: the rule for retries.

A fingerprint of the inputs (with their versions) and the options travels with the output. A
retry of the same job finds it and skips the work; a different job writing to the same place
is refused (73) unless `overwrite` lets it replace what is there. Where the fingerprint is
stored marks the output complete: the STAC Item published last for outputs of several files,
the file itself for a single file (published whole, so finding it means finding it complete).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runtime import OutputError
from runtime.errors import TaskError
from tasks.raster.publisher import Publisher
from tasks.raster.sources import Source, resolve

# Where the fingerprint is kept: a STAC Item property, and a GeoTIFF metadata item (GDAL's
# metadata keys can't hold ':').
ITEM_PROPERTY = "batch_task:fingerprint"
FILE_TAG = "BATCH_TASK_FINGERPRINT"


@dataclass(frozen=True)
class Outputs:
    """The files of one output: the data, its thumbnail and the STAC Item published last."""

    data: str
    item: str
    thumbnail: str

    @classmethod
    def beside(cls, destination: str) -> Outputs:
        stem, dot, ext = destination.rpartition(".")
        if not dot or "/" in ext:
            stem = destination
        return cls(destination, f"{stem}.json", f"{stem}.png")


def fingerprint(inputs: Sequence[Source], **recipe: Any) -> str:
    """Equal only for a retry of the same job: the same input versions and the same `recipe`.

    `recipe` must be JSON and holds everything else that shapes the output (options, the
    task's recipe version); changing what a task puts in it makes earlier outputs foreign.
    """
    document = {"sources": [[s.uri, s.size, s.version] for s in inputs], **recipe}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def completed(
    publisher: Publisher, outputs: Outputs, fingerprint: str, overwrite: bool
) -> dict[str, Any] | None:
    """The Item of a complete output of the same job, or None once the way is clear to publish.

    An output from other inputs or options, or files of unknown origin, are an error without
    `overwrite`; with it, the old Item is deleted first so that a failure part-way leaves no
    Item pointing at data it does not describe.
    """
    text = publisher.read_text(outputs.item)
    item = _parse(text)
    if item is not None:
        same = item.get("properties", {}).get(ITEM_PROPERTY) == fingerprint
        if same and publisher.exists(outputs.data):
            return item
        if not same and not overwrite:
            raise OutputError(
                f"{outputs.data!r} already exists from other inputs or options "
                f"(see {outputs.item!r}); pass --overwrite true to replace it, "
                "or choose another destination"
            )
        publisher.delete(outputs.item)
        return None
    if overwrite:
        return None
    if text is not None:
        raise OutputError(
            f"{outputs.item!r} exists but is not a STAC Item written by this task; pass "
            "--overwrite true to replace it, or choose another destination"
        )
    for uri in (outputs.data, outputs.thumbnail):
        if publisher.exists(uri):
            raise OutputError(
                f"{uri!r} already exists without the STAC Item that marks a complete output "
                f"({outputs.item!r}); pass --overwrite true to replace it, or choose "
                "another destination"
            )
    return None


def completed_file(
    publisher: Publisher, destination: str, fingerprint: str, overwrite: bool
) -> Source | None:
    """The raster this job already published at `destination`, or None once the way is clear.

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
            tag = dataset.tags().get(FILE_TAG)
    except (RasterioError, TaskError):
        tag = None
    if tag == fingerprint:
        return found
    if overwrite:
        return None
    origin = "other inputs or options" if tag else "outside this task (it has no fingerprint)"
    raise OutputError(
        f"{destination!r} already exists, made from {origin}; pass --overwrite true to "
        "replace it, or choose another destination"
    )


def _parse(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("type") == "Feature" else None
