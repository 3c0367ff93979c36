"""The export's options checked before any I/O, and what they make: GDAL creation options and
the fingerprint that tells a retry of this job from another job's output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime import UsageError
from tasks.export.aoi import Aoi
from tasks.raster import completion, profiles
from tasks.raster.sources import Source

if TYPE_CHECKING:
    from rasterio.crs import CRS

    from tasks.export.mosaic import Output

Arguments = Mapping[str, Any]
# Bump when the output of the same inputs and options changes, so that retries redo the work.
RECIPE = 1
BLOCKSIZE = 512
# Overviews of categorical data keep categories; everything else is averaged.
OVERVIEW_RESAMPLING = {"nearest": "nearest", "mode": "mode"}
# Not options that shape the pixels, or recorded in their own form (the CRS as WKT, the AOI
# as polygons).
UNRECORDED = ("overwrite", "aoi", "source", "destination", "dst_crs")


def requested_crs(args: Arguments) -> CRS | None:
    """`dst_crs` as a CRS, or None to keep the first source's; 64 when GDAL does not know it."""
    if not args["dst_crs"]:
        return None
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        return CRS.from_user_input(args["dst_crs"])
    except CRSError as exc:
        raise UsageError(
            f"--dst-crs {args['dst_crs']!r} is not a CRS GDAL knows ({exc}); "
            "use e.g. EPSG:3857 or a WKT string"
        ) from None


def check(args: Arguments) -> None:
    """Every problem with the options at once, as one usage error (64)."""
    problems = []
    resolution, bands = args["resolution"], args["bands"]
    if resolution is not None and not resolution > 0:
        problems.append(f"--resolution {resolution} must be a positive number")
    if bands is not None and (not bands or min(bands) < 1):
        problems.append(f"--bands {bands} must list 1-based band indexes, e.g. 1 2 3")
    if not args["source"]:
        problems.append("--source is required: give at least one input raster")
    if problems:
        raise UsageError("; ".join(problems))


def fingerprint(sources: list[Source], area: Aoi | None, crs: CRS | None, args: Arguments) -> str:
    """Inputs (with their versions) and options: equal only for a retry of the same job."""
    options = {k: v for k, v in args.items() if k not in UNRECORDED}
    if args["nodata"] is not None and math.isnan(args["nodata"]):
        options["nodata"] = "nan"
    return completion.fingerprint(
        sources,
        task="export",
        recipe=RECIPE,
        dst_crs=None if crs is None else crs.to_wkt(),
        aoi=None if area is None else [area.crs, area.polygons],
        options=options,
    )


def creation_options(args: Arguments, output: Output, threads: int) -> dict[str, str]:
    """The COG or GTiff driver's options for this output, from profiles."""
    if args["format"] == "COG":
        return profiles.cog_options(
            args["compress"],
            dtype=output.dtype,
            count=output.count,
            blocksize=BLOCKSIZE,
            overview_resampling=OVERVIEW_RESAMPLING.get(args["resampling"], "average"),
            threads=threads,
        )
    return profiles.gtiff_options(
        args["compress"],
        dtype=output.dtype,
        count=output.count,
        blocksize=BLOCKSIZE,
        threads=threads,
    )
