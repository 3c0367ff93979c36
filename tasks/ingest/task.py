"""The `ingest` task's parameters, declared once: the signature, with help in its docstring.

Only the parameter surface lives here, so that `batch-task list` and `describe` read it
without importing rasterio or boto3; the work is in tasks.ingest.pipeline, which receives the
arguments as one read-only mapping named as in the signature.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from runtime import TaskContext, task
from tasks.raster.profiles import Compress, OverviewResampling, WarpResampling


@task
def ingest(
    ctx: TaskContext,
    source: list[str],
    destination: str,
    compress: Compress = "deflate",
    dst_crs: str | None = None,
    resampling: WarpResampling = "bilinear",
    overview_resampling: OverviewResampling = "average",
    blocksize: int = 512,
    nodata: float | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Publish a raster as a Cloud-Optimized GeoTIFF with a STAC Item and a PNG quicklook.

    Several single-band sources on one grid are stacked as bands, in order. The STAC Item
    (destination with .json) is written last; a retry with the same inputs and options finds
    it and returns `skipped: true` without redoing the work.

    Args:
        source: raster URI (local path, file://, s3://, https://); repeat to stack bands.
        destination: where the COG goes (local path, file:// or s3://), e.g. s3://b/x.tif.
        compress: COG compression; deflate, zstd, lzw and none are lossless.
        dst_crs: reproject to this CRS (e.g. EPSG:3857); default: keep the source's.
        resampling: resampling for reprojection.
        overview_resampling: resampling for the overviews.
        blocksize: tile size in pixels (a multiple of 16).
        nodata: declare this value nodata in the output (default: the sources' own).
        overwrite: replace an existing output made from other inputs or options.
    """
    # The first statement, so that locals() holds exactly the arguments.
    arguments = MappingProxyType({k: v for k, v in locals().items() if k != "ctx"})
    from tasks.ingest.pipeline import run

    return run(ctx, arguments)
