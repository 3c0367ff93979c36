"""The `export` task from its arguments to a published GeoTIFF.

    check options and parse the AOI -> resolve sources -> skip if this job already published
    -> open sources -> plan the grid -> burn the AOI -> place sources (warp where needed) ->
    one streamed GDAL copy of the mosaic VRT -> validate -> publish atomically

Every step that reads pixels is GDAL streaming a VRT, so memory is bounded by GDAL's block
cache and warp buffers, never by the size of the mosaic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime import InputError, TaskContext
from tasks.export import aoi as aois
from tasks.export import cutline, mosaic, options
from tasks.export.inputs import open_sources
from tasks.export.options import Arguments
from tasks.export.plan import plan
from tasks.raster import completion, profiles, resources
from tasks.raster.gdal_config import gdal_env
from tasks.raster.grid import Grid, Raster
from tasks.raster.progress_spans import byte_span, fraction_span
from tasks.raster.publish import Publisher, publishing
from tasks.raster.sources import Source, resolve
from tasks.raster.write import copy

if TYPE_CHECKING:
    from rasterio.crs import CRS

MEDIA_TYPES = {
    "COG": "image/tiff; application=geotiff; profile=cloud-optimized",
    "GTiff": "image/tiff; application=geotiff",
}
# Share of the progress bar each stage ends at.
PLANNED, PLACED, WRITTEN, VALIDATED = 0.05, 0.1, 0.9, 0.92


@dataclass(frozen=True)
class Summary:
    """What the result reports about the output, whether written now or found complete."""

    width: int
    height: int
    count: int
    crs: str | None
    bounds: tuple[float, float, float, float]
    bytes: int


def run(ctx: TaskContext, args: Arguments) -> dict[str, Any]:
    """Export `args` (the task's arguments, named as in its signature)."""
    import rasterio

    crs = options.requested_crs(args)
    options.check(args)
    destination = args["destination"]
    ctx.progress(0.0, stage="resolve")
    area = aois.parse(args["aoi"]) if args["aoi"] else None
    sources = [resolve(uri) for uri in args["source"]]
    fingerprint = options.fingerprint(sources, area, crs, args)
    machine = resources.detect()
    threads = machine.cpus
    config = gdal_env(machine, os.environ)
    with rasterio.Env(**config), publishing(destination, ctx) as publisher:
        found = completion.completed_file(publisher, destination, fingerprint, args["overwrite"])
        if found is not None:
            ctx.log.info("export.skipped", destination=destination)
            ctx.progress(1.0, stage="publish", message="already published by an earlier attempt")
            return _result(destination, _summary(found), skipped=True)

        rasters, output = open_sources(sources, args["bands"], args["nodata"])
        grid, vrt = _mosaic(ctx, args, rasters, output, crs, area, fingerprint, threads)
        staged = publisher.stage(destination)
        creation = options.creation_options(args, output, threads)
        progress = fraction_span(ctx, PLACED, WRITTEN, "write")
        copy(str(vrt), staged, args["format"], creation, config, progress, sources)
        if args["format"] == "COG":
            from tasks.raster.validate import validate_cog

            validate_cog(staged, destination)
        size = _publish(ctx, publisher, staged, destination, args["format"])
    ctx.log.info("export.published", destination=destination, bytes=size)
    summary = Summary(
        grid.width, grid.height, output.count, grid.crs.to_string(), grid.bounds, size
    )
    return _result(destination, summary, skipped=False)


def _mosaic(
    ctx: TaskContext,
    args: Arguments,
    rasters: list[Raster],
    output: mosaic.Output,
    crs: CRS | None,
    area: aois.Aoi | None,
    fingerprint: str,
    threads: int,
) -> tuple[Grid, Path]:
    """Plan the grid, burn the AOI, place the sources; return the grid and the mosaic VRT."""
    crs = crs or rasters[0].crs
    geometry = aois.reproject(area, crs) if area else None
    aoi_bounds = aois.bounds(geometry) if geometry else None
    label = area.label if area else ""
    grid, used = plan(rasters, crs, args["resolution"], aoi_bounds, label)
    profiles.check_codec(args["compress"], output.dtype, output.count)
    ctx.progress(PLANNED, stage="plan")
    mask = None
    if area is not None and geometry is not None and aoi_bounds is not None:
        mask = ctx.scratch / "aoi.tif"
        if not cutline.write(geometry, aoi_bounds, grid, mask, lambda: ctx.cancelled):
            raise InputError(
                f"{area.label} does not overlap any source: no output pixel centre falls "
                "inside it; check the AOI's coordinates (GeoJSON is longitude, latitude)"
            )
    layers = []
    for number, raster in enumerate(used):
        ctx.check_cancelled()
        vrt_path = ctx.scratch / f"warped-{number}.vrt"
        placed = mosaic.place(
            raster, grid, args["resampling"], vrt_path, {"NUM_THREADS": str(threads)}
        )
        if placed is not None:
            layers.append(placed)
    ctx.log.info(
        "export.planned",
        width=grid.width,
        height=grid.height,
        resolution=list(grid.resolution),
        sources_read_directly=sum(1 for layer in layers if not layer.warped),
        sources_warped=sum(1 for layer in layers if layer.warped),
        sources_outside=len(rasters) - len(layers),
    )
    vrt = ctx.scratch / "mosaic.vrt"
    vrt.write_text(mosaic.vrt_xml(grid, layers, output, mask, {completion.FILE_TAG: fingerprint}))
    ctx.progress(PLACED, stage="write")
    return grid, vrt


def _publish(
    ctx: TaskContext, publisher: Publisher, staged: Path, destination: str, driver: str
) -> int:
    size = staged.stat().st_size
    on_bytes = byte_span(ctx, VALIDATED, 1.0, "publish", size)
    ctx.progress(VALIDATED, stage="publish")
    publisher.publish(staged, destination, MEDIA_TYPES[driver], on_bytes)
    return size


def _summary(found: Source) -> Summary:
    """The output an earlier attempt of this job published, read back for the result."""
    import rasterio

    with rasterio.open(found.gdal_path) as dataset:
        return Summary(
            dataset.width,
            dataset.height,
            dataset.count,
            dataset.crs.to_string() if dataset.crs else None,
            tuple(dataset.bounds),
            found.size,
        )


def _result(destination: str, summary: Summary, skipped: bool) -> dict[str, Any]:
    return {
        "destination": destination,
        "width": summary.width,
        "height": summary.height,
        "count": summary.count,
        "crs": summary.crs,
        "bounds": list(summary.bounds),
        "bytes": summary.bytes,
        "skipped": skipped,
    }
