"""`batch-task export` against Debian's gdalwarp on the same mosaic-and-crop job.

    .venv/bin/python benchmarks/export.py [--repeat 3] [--size 4096]

Four generated SIZE x SIZE 3-band tiles (smooth, image-like structure, written block by block)
are mosaicked and cropped to a polygon by both tools, each run in a fresh process tree measured
from outside (benchmarks/process_tree.py): wall and CPU seconds of the whole tree, and the peak
of the RSS summed over the tree (the runtime's supervisor and the task's process together, as a
container's memory limit counts them), sampled from /proc every 50 ms. gdalwarp gets fair
settings (-multi, -wo NUM_THREADS=ALL_CPUS, the same compression, tiling and predictor); it is
installed with apt-get when missing. Other work on the machine makes single numbers noisy:
compare the ratios of one run, and the medians of several repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import process_tree  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "export"
CRS = "EPSG:32618"
PIXEL = 10.0
ORIGIN = (300000.0, 3000000.0)
BLOCK = 512
COMPRESS = ["-co", "COMPRESS=DEFLATE", "-co", "ZLEVEL=6", "-co", "PREDICTOR=2"]


@dataclass(frozen=True)
class Measure:
    wall: float
    cpu: float
    rss_mb: float


def tiles(size: int) -> list[Path]:
    """Four tiles of one smooth scene, 2 x 2, made once and reused."""
    paths = [OUT / f"tile-{size}-{row}{col}.tif" for row in (0, 1) for col in (0, 1)]
    if all(p.exists() for p in paths):
        return paths
    OUT.mkdir(parents=True, exist_ok=True)
    for path in paths:
        row, col = int(path.stem[-2]), int(path.stem[-1])
        _tile(path, size, row, col)
    return paths


def _tile(path: Path, size: int, tile_row: int, tile_col: int) -> None:
    transform = Affine(
        PIXEL,
        0,
        ORIGIN[0] + tile_col * size * PIXEL,
        0,
        -PIXEL,
        ORIGIN[1] - tile_row * size * PIXEL,
    )
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 3,
        "dtype": "uint8",
        "crs": CRS,
        "transform": transform,
        "nodata": 0,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "predictor": 2,
    }
    rng = np.random.default_rng(tile_row * 2 + tile_col)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, BLOCK):
            for col in range(0, size, BLOCK):
                y, x = np.mgrid[row : row + BLOCK, col : col + BLOCK].astype(np.float32)
                y += tile_row * size
                x += tile_col * size
                for band in range(3):
                    base = (
                        110
                        + 60 * np.sin(x / (700 + 90 * band)) * np.cos(y / (900 - 70 * band))
                        + 35 * np.sin((x + y) / 230 + band)
                        + 15 * np.cos(x / 37) * np.sin(y / 53)
                    )
                    noise = rng.normal(0, 4, base.shape)
                    data = np.clip(base + noise, 1, 255).astype(np.uint8)
                    dst.write(data, band + 1, window=Window(col, row, BLOCK, BLOCK))


def polygon(size: int) -> Path:
    """An irregular 12-sided polygon over most of the mosaic, in EPSG:4326 as GeoJSON."""
    from rasterio.warp import transform

    extent = 2 * size * PIXEL
    cx, cy = ORIGIN[0] + extent / 2, ORIGIN[1] - extent / 2
    angles = np.linspace(0, 2 * np.pi, 13)[:-1]
    radii = extent * np.where(np.arange(12) % 2 == 0, 0.46, 0.33)
    xs = list(cx + radii * np.cos(angles))
    ys = list(cy + radii * np.sin(angles))
    lons, lats = transform(CRS, "EPSG:4326", xs, ys)
    ring = [[lon, lat] for lon, lat in zip(lons, lats, strict=True)]
    path = OUT / f"aoi-{size}.geojson"
    geometry = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    path.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": geometry}))
    return path


def ensure_gdalwarp() -> str:
    found = shutil.which("gdalwarp")
    if found:
        return found
    apt = ["apt-get", "-qq"]
    subprocess.run([*apt, "update"], check=True)
    subprocess.run(
        [*apt, "install", "-y", "gdal-bin"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("gdalwarp") or "gdalwarp"


def measure(command: list[str], env: dict[str, str] | None = None) -> Measure:
    """Wall and CPU time and peak RSS of one fresh process tree."""
    log = OUT / "last-run.log"
    run = process_tree.run(command, env, log)
    if run.code != 0:
        raise SystemExit(f"{command[0]} failed:\n{log.read_text()[-3000:]}")
    return Measure(run.wall, run.cpu, run.peak_mib)


def ours(sources: list[Path], aoi: Path, output: Path, fmt: str) -> list[str]:
    inputs = [arg for source in sources for arg in ("--source", str(source))]
    options = ["--aoi", str(aoi), "--resampling", "nearest", "--format", fmt]
    return [
        sys.executable, "-m", "runtime", "export", *inputs, "--destination", str(output),
        *options,
    ]  # fmt: skip


def gdalwarp(binary: str, sources: list[Path], aoi: Path, output: Path, fmt: str) -> list[str]:
    creation = (
        ["-co", "BLOCKSIZE=512", "-co", "OVERVIEW_RESAMPLING=NEAREST"]
        if fmt == "COG"
        else ["-co", "TILED=YES", "-co", "BLOCKXSIZE=512", "-co", "BLOCKYSIZE=512"]
    )
    compress = (
        ["-co", "COMPRESS=DEFLATE", "-co", "LEVEL=6", "-co", "PREDICTOR=YES"]
        if fmt == "COG"
        else COMPRESS
    )
    return [
        binary, "-q", "-overwrite", "-multi", "-wo", "NUM_THREADS=ALL_CPUS", "-r", "near",
        "-cutline", str(aoi), "-crop_to_cutline", "-dstnodata", "0", "-of", fmt,
        *creation, *compress, "-co", "NUM_THREADS=ALL_CPUS", "-co", "BIGTIFF=IF_SAFER",
        *map(str, sources), str(output),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()

    binary = ensure_gdalwarp()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    sources = tiles(args.size)
    aoi = polygon(args.size)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json", "LOG_LEVEL": "warning"}
    rows: list[str] = []
    for fmt in ("GTiff", "COG"):
        runs: dict[str, list[Measure]] = {"batch-task export": [], "gdalwarp": []}
        for _ in range(args.repeat):
            # A fresh destination each time: an export finding its own output would skip.
            ours_out, theirs_out = OUT / f"ours.{fmt}.tif", OUT / f"gdalwarp.{fmt}.tif"
            ours_out.unlink(missing_ok=True)
            theirs_out.unlink(missing_ok=True)
            runs["batch-task export"].append(measure(ours(sources, aoi, ours_out, fmt), env))
            runs["gdalwarp"].append(measure(gdalwarp(binary, sources, aoi, theirs_out, fmt)))
        base = _median(runs["gdalwarp"])
        for name, measures in runs.items():
            m = _median(measures)
            rows.append(
                f"| {fmt} | {name} | {m.wall:.2f} | {m.cpu:.2f} | {m.rss_mb:.0f} | "
                f"{m.wall / base.wall:.2f}x | {m.cpu / base.cpu:.2f}x | "
                f"{', '.join(f'{x.wall:.2f}' for x in measures)} |"
            )
    print(
        f"Mosaic of 4 x {args.size}x{args.size} 3-band uint8 tiles cropped to a 12-sided "
        f"polygon, nearest, deflate + predictor, 512 tiles; {os.cpu_count()} CPUs; "
        f"{version}; medians of {args.repeat}.\n"
    )
    print("| format | tool | wall s | CPU s | peak tree RSS MiB | wall ratio | CPU ratio | walls |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def _median(measures: list[Measure]) -> Measure:
    return Measure(
        statistics.median(m.wall for m in measures),
        statistics.median(m.cpu for m in measures),
        statistics.median(m.rss_mb for m in measures),
    )


if __name__ == "__main__":
    main()
