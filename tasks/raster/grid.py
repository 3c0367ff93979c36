"""A raster grid (CRS, transform, size) and how other rasters' pixels fall on it.

One `Grid` for every task: the mosaic an export plans, and the grid stacked inputs share.
`snap` places a grid's pixel edges on the lines of an anchor, so that outputs line up with a
source (or with whole multiples of the resolution) instead of starting wherever an extent
happens to start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from affine import Affine

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
    """Pixels of `transform`'s size, `width` by `height`, north up, in `crs`."""

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
        if not same_crs(raster.crs, self.crs):
            return None
        if not same_resolution(raster.resolution, self.resolution):
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


def same_resolution(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=RESOLUTION_TOLERANCE) for x, y in zip(a, b, strict=True))


def snap(extent: Bounds, res: tuple[float, float], anchor: tuple[float, float], crs: CRS) -> Grid:
    """The smallest grid of `res` pixels covering `extent` whose edges fall on `anchor`'s lines.

    Edges within SNAP_TOLERANCE of a pixel of a grid line count as on it, so float noise in a
    source's geotransform neither adds a row of pixels nor shifts the grid.
    """
    xres, yres = res
    ax, ay = anchor
    col0 = math.floor((extent[0] - ax) / xres + SNAP_TOLERANCE)
    col1 = math.ceil((extent[2] - ax) / xres - SNAP_TOLERANCE)
    row0 = math.floor((ay - extent[3]) / yres + SNAP_TOLERANCE)
    row1 = math.ceil((ay - extent[1]) / yres - SNAP_TOLERANCE)
    transform = Affine(xres, 0.0, ax + col0 * xres, 0.0, -yres, ay - row0 * yres)
    return Grid(crs, transform, max(1, col1 - col0), max(1, row1 - row0))


def bounds_in(raster: Raster, crs: CRS) -> Bounds:
    """The raster's bounds in `crs`, edges densified so that curved edges stay inside."""
    if same_crs(raster.crs, crs):
        return raster.bounds
    from rasterio.warp import transform_bounds

    return transform_bounds(raster.crs, crs, *raster.bounds, densify_pts=21)
