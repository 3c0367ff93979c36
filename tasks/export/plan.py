"""The output grid of a mosaic: CRS, resolution, extent, and where its pixel edges fall.

Pixel edges follow the first source whose CRS and resolution equal the output's, so tiles cut
from one scene mosaic back into that scene exactly, with no resampling at all. Without such a
source the edges fall on whole multiples of the resolution (gdalwarp's -tap), so two exports
with the same settings line up with each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime import InputError
from tasks.raster.grid import Bounds, Grid, Raster, bounds_in, same_crs, same_resolution, snap

if TYPE_CHECKING:
    from rasterio.crs import CRS


def plan(
    rasters: list[Raster],
    crs: CRS,
    resolution: float | None,
    aoi_bounds: Bounds | None,
    aoi_label: str,
) -> tuple[Grid, list[Raster]]:
    """The output grid and the sources that contribute to it (in the user's order)."""
    extents = [bounds_in(r, crs) for r in rasters]
    res = (resolution, resolution) if resolution else finest(rasters, crs)
    anchor = next(
        (
            (r.transform.c, r.transform.f)
            for r in rasters
            if same_crs(r.crs, crs) and same_resolution(r.resolution, res) and r.transform.e < 0
        ),
        (0.0, 0.0),
    )
    extent = union(extents)
    if aoi_bounds is not None:
        clipped = intersection(extent, aoi_bounds)
        if clipped is None:
            raise InputError(
                f"{aoi_label} does not overlap any source: in {_name(crs)} it spans "
                f"{_fmt(aoi_bounds)} while the sources span {_fmt(extent)}; check the AOI's "
                "coordinates (GeoJSON is longitude, latitude) and its CRS"
            )
        extent = clipped
    grid = snap(extent, res, anchor, crs)
    used = [r for r, e in zip(rasters, extents, strict=True) if grid.window(e) is not None]
    if not used:
        raise InputError(f"{aoi_label} does not overlap any source; check the AOI")
    return grid, used


def finest(rasters: list[Raster], crs: CRS) -> tuple[float, float]:
    """The smallest pixel among the sources, each measured in the output CRS."""
    from rasterio.warp import calculate_default_transform

    sizes: list[tuple[float, float]] = []
    for r in rasters:
        if same_crs(r.crs, crs):
            sizes.append(r.resolution)
        else:
            transform, _, _ = calculate_default_transform(r.crs, crs, r.width, r.height, *r.bounds)
            sizes.append((abs(transform.a), abs(transform.e)))
    return min(sizes, key=lambda s: s[0] * s[1])


def union(boxes: list[Bounds]) -> Bounds:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def intersection(a: Bounds, b: Bounds) -> Bounds | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def _name(crs: CRS) -> str:
    return crs.to_string() if crs.to_epsg() else "the output CRS"


def _fmt(bounds: Bounds) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"
