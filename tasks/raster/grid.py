"""The output grid of a mosaic: CRS, resolution, and where its pixel edges fall.

Pixel edges follow the first source whose CRS and resolution equal the output's, so tiles cut
from one scene mosaic back into that scene exactly, with no resampling at all. Without such a
source the edges fall on whole multiples of the resolution (gdalwarp's -tap), so two exports
with the same settings line up with each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from affine import Affine

from runtime import InputError

if TYPE_CHECKING:
    from rasterio.crs import CRS

Bounds = tuple[float, float, float, float]
# Float noise in geotransforms: edges this close (in pixels) to a grid line are on it.
SNAP_TOLERANCE = 1e-6
RESOLUTION_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Raster:
    """What planning and mosaicking need to know about one opened source."""

    uri: str
    gdal_path: str
    crs: CRS
    transform: Affine
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    masked: bool
    alpha: int | None

    @property
    def bounds(self) -> Bounds:
        return _bounds(self.transform, self.width, self.height)

    @property
    def resolution(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)


@dataclass(frozen=True)
class Grid:
    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def resolution(self) -> tuple[float, float]:
        return self.transform.a, -self.transform.e

    @property
    def bounds(self) -> Bounds:
        return _bounds(self.transform, self.width, self.height)

    def window(self, bounds: Bounds) -> tuple[int, int, int, int] | None:
        """The pixels (col, row, width, height) that cover `bounds`, clipped to the grid."""
        xres, yres = self.resolution
        left, top = self.transform.c, self.transform.f
        col0 = max(0, math.floor((bounds[0] - left) / xres + SNAP_TOLERANCE))
        col1 = min(self.width, math.ceil((bounds[2] - left) / xres - SNAP_TOLERANCE))
        row0 = max(0, math.floor((top - bounds[3]) / yres + SNAP_TOLERANCE))
        row1 = min(self.height, math.ceil((top - bounds[1]) / yres - SNAP_TOLERANCE))
        if col1 <= col0 or row1 <= row0:
            return None
        return col0, row0, col1 - col0, row1 - row0

    def offset_of(self, raster: Raster) -> tuple[int, int] | None:
        """Where `raster`'s pixels sit on this grid, if they coincide with its pixels."""
        if not same_crs(raster.crs, self.crs) or not _close(raster.resolution, self.resolution):
            return None
        if raster.transform.e > 0:
            return None
        col = (raster.transform.c - self.transform.c) / self.resolution[0]
        row = (self.transform.f - raster.transform.f) / self.resolution[1]
        if abs(col - round(col)) > SNAP_TOLERANCE or abs(row - round(row)) > SNAP_TOLERANCE:
            return None
        return round(col), round(row)


def _bounds(transform: Affine, width: int, height: int) -> Bounds:
    left, top = transform.c, transform.f
    return left, top + transform.e * height, left + transform.a * width, top


def same_crs(a: CRS, b: CRS) -> bool:
    return a == b


def plan(
    rasters: list[Raster],
    crs: CRS,
    resolution: float | None,
    aoi_bounds: Bounds | None,
    aoi_label: str,
) -> tuple[Grid, list[Raster]]:
    """The output grid and the sources that contribute to it (in the user's order)."""
    footprints = [footprint(r, crs) for r in rasters]
    res = (resolution, resolution) if resolution else _finest(rasters, crs)
    anchor = next(
        (
            (r.transform.c, r.transform.f)
            for r in rasters
            if same_crs(r.crs, crs) and _close(r.resolution, res) and r.transform.e < 0
        ),
        (0.0, 0.0),
    )
    extent = _union(footprints)
    if aoi_bounds is not None:
        clipped = _intersection(extent, aoi_bounds)
        if clipped is None:
            raise InputError(
                f"{aoi_label} does not overlap any source: in {_name(crs)} it spans "
                f"{_fmt(aoi_bounds)} while the sources span {_fmt(extent)}; check the AOI's "
                "coordinates (GeoJSON is longitude, latitude) and its CRS"
            )
        extent = clipped
    grid = _snapped(extent, res, anchor, crs)
    used = [r for r, f in zip(rasters, footprints, strict=True) if grid.window(f) is not None]
    if not used:
        raise InputError(f"{aoi_label} does not overlap any source; check the AOI")
    return grid, used


def _snapped(
    extent: Bounds, res: tuple[float, float], anchor: tuple[float, float], crs: CRS
) -> Grid:
    xres, yres = res
    ax, ay = anchor
    col0 = math.floor((extent[0] - ax) / xres + SNAP_TOLERANCE)
    col1 = math.ceil((extent[2] - ax) / xres - SNAP_TOLERANCE)
    row0 = math.floor((ay - extent[3]) / yres + SNAP_TOLERANCE)
    row1 = math.ceil((ay - extent[1]) / yres - SNAP_TOLERANCE)
    transform = Affine(xres, 0.0, ax + col0 * xres, 0.0, -yres, ay - row0 * yres)
    return Grid(crs, transform, max(1, col1 - col0), max(1, row1 - row0))


def footprint(raster: Raster, crs: CRS) -> Bounds:
    """The raster's bounds in `crs`, edges densified so that curved edges stay inside."""
    if same_crs(raster.crs, crs):
        return raster.bounds
    from rasterio.warp import transform_bounds

    return transform_bounds(raster.crs, crs, *raster.bounds, densify_pts=21)


def _finest(rasters: list[Raster], crs: CRS) -> tuple[float, float]:
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


def _union(boxes: list[Bounds]) -> Bounds:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _intersection(a: Bounds, b: Bounds) -> Bounds | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=RESOLUTION_TOLERANCE) for x, y in zip(a, b, strict=True))


def _name(crs: CRS) -> str:
    return crs.to_string() if crs.to_epsg() else "the output CRS"


def _fmt(bounds: Bounds) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"
