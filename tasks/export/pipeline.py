"""The `export` task from parameters to published GeoTIFF.

    parse options and AOI -> resolve sources -> skip if this job already published ->
    open sources -> plan the grid -> burn the AOI -> place sources (warp where needed) ->
    one streamed GDAL copy of the mosaic VRT -> validate -> publish atomically

Every step that reads pixels is GDAL streaming a VRT, so memory is bounded by GDAL's block
cache and warp buffers, never by the size of the mosaic.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime import InputError, TaskContext, UsageError
from tasks.export import aoi as aois
from tasks.export import cutline, mosaic
from tasks.raster import completion, grid, profiles, resources
from tasks.raster.progress_spans import byte_span, fraction_span
from tasks.raster.publish import Publisher, publishing
from tasks.raster.sources import Source, open_raster, resolve
from tasks.raster.write import copy

if TYPE_CHECKING:
    from rasterio.crs import CRS
    from rasterio.io import DatasetReader

# Bump when the output of the same inputs and options changes, so that retries redo the work.
RECIPE = 1
BLOCKSIZE = 512
MEDIA_TYPES = {
    "COG": "image/tiff; application=geotiff; profile=cloud-optimized",
    "GTiff": "image/tiff; application=geotiff",
}
OVERVIEW_RESAMPLING = {"nearest": "nearest", "mode": "mode"}
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


@dataclass(frozen=True)
class Request:
    sources: list[str]
    destination: str
    aoi: str | None
    dst_crs: str | None
    resolution: float | None
    resampling: str
    bands: list[int] | None
    format: str
    compress: str
    nodata: float | None
    overwrite: bool


def run(ctx: TaskContext, request: Request) -> dict[str, Any]:
    import rasterio

    crs = _requested_crs(request)
    _check_options(request)
    ctx.progress(0.0, stage="resolve")
    area = aois.parse(request.aoi) if request.aoi else None
    sources = [resolve(uri) for uri in request.sources]
    fingerprint = _fingerprint(sources, area, crs, request)
    machine = resources.detect()
    threads = machine.cpus
    config = resources.gdal_env(machine, os.environ)
    with rasterio.Env(**config), publishing(request.destination, ctx) as publisher:
        found = completion.completed_file(
            publisher, request.destination, fingerprint, request.overwrite
        )
        if found is not None:
            ctx.log.info("export.skipped", destination=request.destination)
            ctx.progress(1.0, stage="publish", message="already published by an earlier attempt")
            return _result(request.destination, _summary(found), skipped=True)

        rasters, output = _open(sources, request)
        plan, vrt = _mosaic(ctx, request, rasters, output, crs, area, fingerprint, threads)
        staged = publisher.stage(request.destination)
        options = _creation_options(request, output, threads)
        progress = fraction_span(ctx, PLACED, WRITTEN, "write")
        copy(str(vrt), staged, request.format, options, config, progress, sources)
        if request.format == "COG":
            from tasks.raster.validate import validate

            validate(staged, request.destination)
        size = _publish(ctx, publisher, staged, request)
    ctx.log.info("export.published", destination=request.destination, bytes=size)
    summary = Summary(
        plan.width, plan.height, output.count, plan.crs.to_string(), plan.bounds, size
    )
    return _result(request.destination, summary, skipped=False)


def _mosaic(
    ctx: TaskContext,
    request: Request,
    rasters: list[grid.Raster],
    output: mosaic.Output,
    crs: CRS | None,
    area: aois.Aoi | None,
    fingerprint: str,
    threads: int,
) -> tuple[grid.Grid, Path]:
    """Plan the grid, burn the AOI, place the sources; return the grid and the mosaic VRT."""
    crs = crs or rasters[0].crs
    geometry = aois.reproject(area, crs) if area else None
    aoi_bounds = aois.bounds(geometry) if geometry else None
    plan, used = grid.plan(rasters, crs, request.resolution, aoi_bounds, area.label if area else "")
    profiles.check_codec(request.compress, output.dtype, output.count)
    ctx.progress(PLANNED, stage="plan")
    mask = None
    if area is not None and geometry is not None and aoi_bounds is not None:
        mask = ctx.scratch / "aoi.tif"
        if not cutline.write(geometry, aoi_bounds, plan, mask, lambda: ctx.cancelled):
            raise InputError(
                f"{area.label} does not overlap any source: no output pixel centre falls "
                "inside it; check the AOI's coordinates (GeoJSON is longitude, latitude)"
            )
    layers = []
    for number, raster in enumerate(used):
        ctx.check_cancelled()
        vrt_path = ctx.scratch / f"warped-{number}.vrt"
        placed = mosaic.place(
            raster, plan, request.resampling, vrt_path, {"NUM_THREADS": str(threads)}
        )
        if placed is not None:
            layers.append(placed)
    ctx.log.info(
        "export.planned",
        width=plan.width,
        height=plan.height,
        resolution=list(plan.resolution),
        sources_read_directly=sum(1 for layer in layers if not layer.warped),
        sources_warped=sum(1 for layer in layers if layer.warped),
        sources_outside=len(rasters) - len(layers),
    )
    vrt = ctx.scratch / "mosaic.vrt"
    vrt.write_text(mosaic.vrt_xml(plan, layers, output, mask, {completion.FILE_TAG: fingerprint}))
    ctx.progress(PLACED, stage="write")
    return plan, vrt


def _publish(ctx: TaskContext, publisher: Publisher, staged: Path, request: Request) -> int:
    size = staged.stat().st_size
    on_bytes = byte_span(ctx, VALIDATED, 1.0, "publish", size)
    ctx.progress(VALIDATED, stage="publish")
    publisher.publish(staged, request.destination, MEDIA_TYPES[request.format], on_bytes)
    return size


def _requested_crs(request: Request) -> CRS | None:
    if not request.dst_crs:
        return None
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        return CRS.from_user_input(request.dst_crs)
    except CRSError as exc:
        raise UsageError(
            f"--dst-crs {request.dst_crs!r} is not a CRS GDAL knows ({exc}); "
            "use e.g. EPSG:3857 or a WKT string"
        ) from None


def _check_options(request: Request) -> None:
    problems = []
    if request.resolution is not None and not request.resolution > 0:
        problems.append(f"--resolution {request.resolution} must be a positive number")
    if request.bands is not None and (not request.bands or min(request.bands) < 1):
        problems.append(f"--bands {request.bands} must list 1-based band indexes, e.g. 1 2 3")
    if not request.sources:
        problems.append("--source is required: give at least one input raster")
    if problems:
        raise UsageError("; ".join(problems))


def _fingerprint(
    sources: list[Source], area: aois.Aoi | None, crs: CRS | None, request: Request
) -> str:
    """Inputs (with their versions) and options: equal only for a retry of the same job."""
    skipped = ("overwrite", "aoi", "sources", "destination", "dst_crs")
    options = {k: v for k, v in asdict(request).items() if k not in skipped}
    if request.nodata is not None and math.isnan(request.nodata):
        options["nodata"] = "nan"
    return completion.fingerprint(
        sources,
        task="export",
        recipe=RECIPE,
        dst_crs=None if crs is None else crs.to_wkt(),
        aoi=None if area is None else [area.crs, area.polygons],
        options=options,
    )


def _open(sources: list[Source], request: Request) -> tuple[list[grid.Raster], mosaic.Output]:
    """Read what planning needs from every source; 65 naming a source that can't take part.

    The first source decides the output's bands, data type and colours; every source must
    have the bands exported.
    """
    rasters: list[grid.Raster] = []
    bands: list[int] = []
    dtype, colors = "", []
    for source in sources:
        with open_raster(source) as dataset:
            raster = _raster(source, dataset)
            if not rasters:
                bands = request.bands or [i for i in dataset.indexes if i != raster.alpha]
            if max(bands) > dataset.count:
                raise InputError(
                    f"{source.uri!r} has {dataset.count} band(s), but band {max(bands)} is "
                    "exported (--bands, or the first source's bands); choose --bands that "
                    "every source has"
                )
            if not rasters:
                dtype, colors = dataset.dtypes[bands[0] - 1], mosaic.colors(dataset, bands)
            rasters.append(raster)
    nodata = request.nodata
    if nodata is None:
        nodata = next((r.nodata for r in rasters if r.nodata is not None), None)
    _check_nodata(nodata, dtype)
    return rasters, mosaic.Output(bands, dtype, nodata, colors)


def _raster(source: Source, dataset: DatasetReader) -> grid.Raster:
    from rasterio.enums import ColorInterp, MaskFlags

    alpha = next(
        (i for i in dataset.indexes if dataset.colorinterp[i - 1] == ColorInterp.alpha), None
    )
    return grid.Raster(
        uri=source.uri,
        gdal_path=source.gdal_path,
        crs=dataset.crs,
        transform=dataset.transform,
        width=dataset.width,
        height=dataset.height,
        count=dataset.count,
        dtype=dataset.dtypes[0],
        nodata=dataset.nodata,
        masked=MaskFlags.per_dataset in dataset.mask_flag_enums[0],
        alpha=alpha,
    )


def _check_nodata(nodata: float | None, dtype: str) -> None:
    import numpy as np

    if nodata is None or dtype.startswith(("float", "complex")):
        return
    info = np.iinfo(dtype)
    if not (float(nodata).is_integer() and info.min <= nodata <= info.max):
        raise UsageError(
            f"--nodata {nodata:g} can't be stored in the output's data type {dtype} "
            f"(integers {info.min}..{info.max}); choose a value in that range"
        )


def _creation_options(request: Request, output: mosaic.Output, threads: int) -> dict[str, str]:
    if request.format == "COG":
        return profiles.cog_options(
            request.compress,
            dtype=output.dtype,
            count=output.count,
            blocksize=BLOCKSIZE,
            overview_resampling=OVERVIEW_RESAMPLING.get(request.resampling, "average"),
            threads=threads,
        )
    return profiles.gtiff_options(
        request.compress,
        dtype=output.dtype,
        count=output.count,
        blocksize=BLOCKSIZE,
        threads=threads,
    )


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
