"""A PNG quicklook a person can open to see what was ingested, read from the COG's overviews.

Reading with `out_shape` lets GDAL pick the overview closest to 512 pixels, so the quicklook
of a 2 GB raster costs about as much as that of a small one. Non-8-bit data is stretched
per band between its 2nd and 98th percentiles; invalid pixels are transparent.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tasks.raster.footprint import reduced_shape

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

MAX_SIZE = 512
STRETCH = (2, 98)


def write_png(dataset: DatasetReader, path: Path) -> None:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning

    height, width = reduced_shape(dataset.height, dataset.width, MAX_SIZE)
    indexes = _display_bands(dataset)
    data = dataset.read(
        indexes, out_shape=(len(indexes), height, width), resampling=Resampling.average
    )
    alpha = dataset.dataset_mask(out_shape=(height, width))
    valid = alpha > 0
    if data.dtype != np.uint8:
        data = np.stack([_stretch(band, valid) for band in data])
    profile = {
        "driver": "PNG",
        "width": width,
        "height": height,
        "count": len(indexes) + 1,
        "dtype": "uint8",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as png:
            png.write(np.concatenate([data, alpha[np.newaxis]]))


def _display_bands(dataset: DatasetReader) -> list[int]:
    """Red, green and blue when the raster names them, else its first three, else band 1."""
    names = [c.name for c in dataset.colorinterp]
    if all(c in names for c in ("red", "green", "blue")):
        return [names.index(c) + 1 for c in ("red", "green", "blue")]
    non_alpha = [i for i, name in zip(dataset.indexes, names, strict=True) if name != "alpha"]
    return non_alpha[:3] if len(non_alpha) >= 3 else non_alpha[:1] or [1]


def _stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    values = band[valid & np.isfinite(band)]
    if values.size == 0:
        return np.zeros(band.shape, np.uint8)
    low, high = np.percentile(values, STRETCH)
    scaled = (band.astype("float64") - low) / (high - low or 1) * 255
    return np.nan_to_num(np.clip(scaled, 0, 255)).astype(np.uint8)
