"""Helpers shared by the ingest tests (no tests here): expected outcomes per raster, checks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rio_cogeo.cogeo import cog_validate

from tests.conftest import RASTERS

# Files that must be refused, with the exit code and words the message must contain.
REFUSED = {
    "corrupt.tif": (65, ["corrupt.tif", "band 1"]),
    "rotated.tif": (65, ["rotated.tif", "rotated geotransform"]),
}
ALL_RASTERS = sorted(p.name for p in RASTERS.glob("*.tif"))
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def make_raster(path: Path, size: int, count: int = 4) -> Path:
    """A smooth uint16 raster written strip by strip: slow enough to convert to be signalled."""
    from rasterio.transform import from_origin

    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": count,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": from_origin(500000, 5000000, 10, 10),
        "tiled": True,
    }
    x = np.arange(size)
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, 512):
            y = np.arange(top, min(top + 512, size))[:, None]
            base = 2000 + 900 * np.sin(x / 97.0) * np.cos(y / 131.0) + (x + y) / 8
            for band in range(1, count + 1):
                window = rasterio.windows.Window(0, top, size, len(y))
                dst.write((base * band / 2).astype("uint16"), band, window=window)
    return path


def assert_valid_cog(path: str | Path) -> None:
    valid, errors, warnings = cog_validate(str(path), strict=True, quiet=True)
    assert valid, (errors, warnings)


def assert_same_pixels(cog: str | Path, source: str | Path) -> None:
    with rasterio.open(cog) as out, rasterio.open(source) as src:
        assert (out.width, out.height, out.count) == (src.width, src.height, src.count)
        assert out.crs == src.crs
        assert out.transform.almost_equals(src.transform)
        assert np.array_equal(out.read(), src.read(), equal_nan=True)


def assert_item(item: dict[str, Any], cog_href: str, thumbnail_href: str, count: int) -> None:
    assert item["type"] == "Feature"
    assert item["assets"]["data"]["href"] == cog_href
    assert item["assets"]["data"]["type"] == COG_MEDIA_TYPE
    assert item["assets"]["thumbnail"]["href"] == thumbnail_href
    assert item["assets"]["thumbnail"]["type"] == "image/png"
    assert len(item["assets"]["data"]["raster:bands"]) == count
    assert item["properties"]["batch_task:fingerprint"]
    assert "proj:shape" in item["properties"]
    assert "proj:transform" in item["properties"]


def assert_png(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as png:
            assert png.driver == "PNG"
            assert max(png.width, png.height) <= 512
            assert png.count in (2, 4)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
