"""The AOI burnt into a one-byte raster on the output grid: 1 inside, 0 outside.

The mosaic VRT lays this raster over the sources so that pixels outside the AOI become nodata
in the same streamed read that produces the output, for aligned and warped sources alike. It is
written block by block (a pixel is inside when its centre is, as with gdalwarp's cutline), and
blocks outside the AOI's bounding box are never written: a sparse GeoTIFF reads them as 0.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime import Cancelled
from tasks.raster.grid import Bounds, Grid

BLOCK = 512


def write(
    geometry: dict[str, Any],
    aoi_bounds: Bounds,
    grid: Grid,
    path: Path,
    cancelled: Callable[[], bool],
) -> int:
    """Write the AOI raster; return how many output pixels lie inside the AOI."""
    import numpy as np
    import rasterio
    from rasterio.features import geometry_mask
    from rasterio.windows import Window, transform

    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "uint8",
        "crs": grid.crs,
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "sparse_ok": True,
        "bigtiff": "IF_SAFER",
    }
    col0, row0, width, height = grid.window(aoi_bounds) or (0, 0, 0, 0)
    inside = 0
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(row0 // BLOCK * BLOCK, row0 + height, BLOCK):
            for col in range(col0 // BLOCK * BLOCK, col0 + width, BLOCK):
                if cancelled():
                    raise Cancelled("the export was cancelled")
                window = Window(
                    col, row, min(BLOCK, grid.width - col), min(BLOCK, grid.height - row)
                )
                burnt = geometry_mask(
                    [geometry],
                    out_shape=(int(window.height), int(window.width)),
                    transform=transform(window, grid.transform),
                    invert=True,
                )
                count = int(burnt.sum())
                if count:
                    inside += count
                    dst.write(burnt.astype(np.uint8), 1, window=window)
    return inside
