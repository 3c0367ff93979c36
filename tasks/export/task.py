"""The `export` task's parameters, declared once: the signature, with help in its docstring.

Only light modules are imported here, so that `batch-task list` and `describe` answer without
loading rasterio; tasks.export.pipeline, imported when the task runs, receives the arguments
as one read-only mapping named as in the signature.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Literal

from runtime import TaskContext, task
from tasks.raster.profiles import Compress, WarpResampling


@task
def export(
    ctx: TaskContext,
    source: list[str],
    destination: str,
    aoi: str | None = None,
    dst_crs: str | None = None,
    resolution: float | None = None,
    resampling: WarpResampling = "bilinear",
    bands: list[int] | None = None,
    format: Literal["COG", "GTiff"] = "COG",
    compress: Compress = "deflate",
    nodata: float | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Mosaic rasters, crop and mask them to an area of interest, reproject, publish a GeoTIFF.

    Sources are drawn onto one output grid; where they overlap, the first source listed wins.
    A source's nodata value, mask or alpha band marks where it has no data. Pixels outside the
    AOI and pixels no source covers are nodata (or 0 in an added alpha band when neither the
    sources nor --nodata give a nodata value). Where the output CRS and resolution equal the
    first such source's, the output's pixels are that source's pixels, not resampled.

    Args:
        source: input rasters (local path, file://, s3:// or https://), first wins on overlap.
        destination: where to publish the GeoTIFF (local path, file:// or s3://).
        aoi: inline GeoJSON (starts with "{"), "minx,miny,maxx,maxy" in EPSG:4326, or the
            path or URI of a GeoJSON file; pixels outside it are nodata.
        dst_crs: output CRS, e.g. EPSG:3857; default the first source's.
        resolution: output pixel size in dst_crs units; default the finest source's.
        resampling: how sources that need reprojecting or resizing are resampled.
        bands: 1-based band indexes to export from every source; default all but alpha.
        format: COG (tiled, with overviews) or GTiff (tiled, no overviews).
        compress: compression of the output.
        nodata: output nodata value; default the first source's that declares one.
        overwrite: replace an output made from other inputs or options.
    """
    # The first statement, so that locals() holds exactly the arguments.
    arguments = MappingProxyType({k: v for k, v in locals().items() if k != "ctx"})
    from tasks.export.pipeline import run

    return run(ctx, arguments)
