"""Synthetic rasters with the structure of real imagery, for the benchmarks and `make demo`.

Random noise compresses like nothing real does and would make every codec look bad; these
scenes are smooth fields, ridges and gradients with a little sensor noise, written block by
block so that generating a 2 GB input needs no more memory than a 512 MB one.

    .venv/bin/python benchmarks/scene.py OUT.tif [--size 2048] [--bands 3] [--dtype uint8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

BLOCK = 512
PIXEL = 10.0
ORIGIN = (300_000.0, 5_200_000.0)
CRS = "EPSG:32633"


def write_scene(
    path: Path,
    size: int,
    *,
    bands: int = 3,
    dtype: str = "uint8",
    offset: tuple[int, int] = (0, 0),
    nodata: float | None = None,
) -> Path:
    """Write one tile of an endless scene; tiles at different `offset`s (in pixels) fit together
    edge to edge, which is what the export benchmark mosaics."""
    top, left = offset
    transform = Affine(PIXEL, 0, ORIGIN[0] + left * PIXEL, 0, -PIXEL, ORIGIN[1] - top * PIXEL)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": bands,
        "dtype": dtype,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "predictor": 2,
        "BIGTIFF": "IF_SAFER",
    }
    scale = np.iinfo(dtype).max if np.issubdtype(np.dtype(dtype), np.integer) else 1.0
    rng = np.random.default_rng(top * 7919 + left)
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(partial, "w", **profile) as dst:
        for row in range(0, size, BLOCK):
            for col in range(0, size, BLOCK):
                h, w = min(BLOCK, size - row), min(BLOCK, size - col)
                y, x = np.mgrid[row : row + h, col : col + w].astype(np.float32)
                y += top
                x += left
                terrain = np.sin(x / 611) * np.cos(y / 487) + 0.3 * np.sin((x + y) / 173)
                for band in range(bands):
                    detail = np.sin(x / (37 + 11 * band)) * np.cos(y / (53 + 7 * band))
                    value = 0.45 + 0.25 * terrain + 0.05 * detail + 0.1 * band / max(1, bands)
                    value += rng.normal(0, 0.01, value.shape)
                    data = np.clip(value, 0.004, 1.0) * scale
                    dst.write(data.astype(dtype), band + 1, window=Window(col, row, w, h))
    partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--size", type=int, default=2048, help="width and height in pixels")
    parser.add_argument("--bands", type=int, default=3)
    parser.add_argument("--dtype", default="uint8")
    ns = parser.parse_args()
    write_scene(ns.path, ns.size, bands=ns.bands, dtype=ns.dtype)
    print(ns.path)


if __name__ == "__main__":
    main()
