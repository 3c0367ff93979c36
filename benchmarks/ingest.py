"""Benchmark: `batch-task ingest` against GDAL's COG driver and `rio cogeo create`.

    .venv/bin/python benchmarks/ingest.py [--sizes 512,2048,8192] [--repeat 2] [--out DIR]

Every run is a fresh process tree measured from outside (benchmarks/process_tree.py): wall and
CPU seconds (user + system, the whole tree) and the peak of the RSS summed over the tree,
sampled from /proc every 50 ms, since a container's memory limit counts the runtime's
supervisor and the task's process together. All tools get the same input and options:
deflate, predictor 2, 512-pixel blocks, average overviews, as many threads as the CPUs this
container has. "gdal" is rasterio.shutil.copy(driver="COG"), the code path of
`gdal_translate -of COG`, once with GDAL's default block cache (5% of RAM) and once with the
cache the ingest itself sets. Ratios compare each run with GDAL's default in the same
invocation; with --repeat N each tool's best of N is reported (other work on the machine only
slows runs). Generated inputs go to --out (default benchmarks/out/, which git ignores); those
over 1 GB are deleted once measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import process_tree  # noqa: E402
from tasks.raster.resources import detect  # noqa: E402

REAL = ROOT / "tests" / "data" / "RGB.byte.tif"
PYTHON = sys.executable
STRIP = 512
KEEP_MB = 1024


@dataclass
class Result:
    tool: str
    wall: float
    cpu: float
    rss_mib: float
    size_mib: float


def generate(path: Path, megabytes: int) -> Path:
    """A 4-band uint16 GeoTIFF of smooth fields and gradients, written strip by strip."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    if path.exists():
        return path
    side = int((megabytes * 1024 * 1024 / 8) ** 0.5) // STRIP * STRIP
    profile = {
        "driver": "GTiff",
        "width": side,
        "height": side,
        "count": 4,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": from_origin(300000, 5200000, 10, 10),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "BIGTIFF": "IF_SAFER",
    }
    rng = np.random.default_rng(42)
    phases = rng.uniform(0, 2 * np.pi, size=(4, 3))
    x = np.arange(side, dtype="float32")[None, :]
    partial = path.with_suffix(".partial.tif")
    with rasterio.open(partial, "w", **profile) as dst:
        for top in range(0, side, STRIP):
            y = np.arange(top, top + STRIP, dtype="float32")[:, None]
            terrain = (
                np.sin(x / 611 + phases[0, 0]) * np.cos(y / 487 + phases[0, 1]) * 900
                + np.sin((x + y) / 173 + phases[0, 2]) * 250
                + (x + 2 * y) / side * 1500
            )
            for band in range(4):
                detail = np.sin(x / (37 + 11 * band) + phases[band, 1]) * np.cos(
                    y / (53 + 7 * band) + phases[band, 2]
                )
                noise = rng.normal(0, 12, size=(STRIP, side))
                value = 3000 + terrain * (1 + band / 4) + detail * 120 + noise
                dst.write(
                    value.clip(0, 65535).astype("uint16"),
                    band + 1,
                    window=Window(0, top, side, STRIP),
                )
    partial.rename(path)
    return path


def commands(source: Path, out: Path, threads: int) -> dict[str, list[str]]:
    copy = (
        "rasterio.shutil.copy(sys.argv[1], sys.argv[2], driver='COG', compress='DEFLATE', "
        "predictor='2', blocksize=512, overviews='IGNORE_EXISTING', bigtiff='IF_SAFER', "
        f"overview_resampling='AVERAGE', num_threads='{threads}')"
    )
    gdal = f"import sys, rasterio, rasterio.shutil; {copy}"
    cache = detect().gdal_cache_mib
    gdal_cached = (
        "import sys, rasterio, rasterio.shutil\n"
        f"with rasterio.Env(GDAL_CACHEMAX={cache} * 2**20): {copy}"
    )
    return {
        "batch-task ingest": [
            PYTHON,
            "-m",
            "runtime",
            "ingest",
            "--source",
            str(source),
            "--destination",
            str(out / "task.tif"),
        ],
        "gdal COG driver": [PYTHON, "-c", gdal, str(source), str(out / "gdal.tif")],
        "gdal COG driver, ingest's cache": [
            PYTHON,
            "-c",
            gdal_cached,
            str(source),
            str(out / "gdal-cached.tif"),
        ],
        "rio cogeo create": [
            str(Path(PYTHON).parent / "rio"),
            "cogeo",
            "create",
            str(source),
            str(out / "rio.tif"),
            "--cog-profile",
            "deflate",
            "--co",
            "PREDICTOR=2",
            "--blocksize",
            "512",
            "--overview-resampling",
            "average",
            "--threads",
            str(threads),
            "--quiet",
        ],
    }


OUTPUTS = {
    "batch-task ingest": "task.tif",
    "gdal COG driver": "gdal.tif",
    "gdal COG driver, ingest's cache": "gdal-cached.tif",
    "rio cogeo create": "rio.tif",
}


def measure(tool: str, command: list[str], out: Path) -> Result:
    for leftover in out.glob("task.*"):
        leftover.unlink()
    (out / OUTPUTS[tool]).unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json"}
    log = out / "last-run.log"
    stats = process_tree.run(command, env, log)
    if stats.code != 0:
        raise SystemExit(f"{tool} failed with exit code {stats.code}: {command}\n{log.read_text()}")
    size = (out / OUTPUTS[tool]).stat().st_size
    return Result(tool, stats.wall, stats.cpu, stats.peak_mib, size / 2**20)


def benchmark(label: str, source: Path, out: Path, repeat: int, tools: list[str]) -> list[str]:
    threads = detect().cpus
    best: dict[str, Result] = {}
    for _ in range(repeat):
        for tool, command in commands(source, out, threads).items():
            if tool not in tools:
                continue
            result = measure(tool, command, out)
            kept = best.get(tool)
            if kept is None or result.wall < kept.wall:
                best[tool] = Result(
                    tool,
                    min(result.wall, kept.wall if kept else result.wall),
                    min(result.cpu, kept.cpu if kept else result.cpu),
                    max(result.rss_mib, kept.rss_mib if kept else 0),
                    result.size_mib,
                )
    gdal = best["gdal COG driver"]
    rows = []
    for result in best.values():
        rows.append(
            f"| {label} | {result.tool} | {result.wall:.1f} | {result.cpu:.1f} | "
            f"{result.rss_mib:.0f} | {result.size_mib:.1f} | {result.wall / gdal.wall:.2f} | "
            f"{result.cpu / gdal.cpu:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="512,2048,8192", help="generated inputs, in MB")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument(
        "--skip-rio-above",
        type=int,
        default=1024,
        help="skip rio cogeo for inputs above this many MB (it holds them)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    all_tools = list(OUTPUTS)
    no_rio = [tool for tool in all_tools if not tool.startswith("rio")]
    print(
        f"CPUs: {detect().cpus}, memory limit: {detect().memory_bytes / 2**30:.1f} GiB, "
        f"repeat: {args.repeat}\n"
    )
    print(
        "| input | tool | wall s | CPU s | peak tree RSS MiB | output MiB | wall / GDAL | "
        "CPU / GDAL |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for line in benchmark(REAL.name, REAL, args.out, args.repeat, all_tools):
        print(line, flush=True)
    for megabytes in (int(s) for s in args.sizes.split(",") if s):
        source = generate(args.out / f"input-{megabytes}mb.tif", megabytes)
        tools = all_tools if megabytes <= args.skip_rio_above else no_rio
        label = f"generated {megabytes} MB, 4 x uint16"
        for line in benchmark(label, source, args.out, args.repeat, tools):
            print(line, flush=True)
        if megabytes > KEEP_MB:
            source.unlink()
            for name in OUTPUTS.values():
                (args.out / name).unlink(missing_ok=True)
    shutil.rmtree(args.out / "publish", ignore_errors=True)


if __name__ == "__main__":
    main()
