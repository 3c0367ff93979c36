"""examples/nightly-mosaic.yaml runs as written: four scenes ingested, one mosaic cropped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from tests.conftest import RASTERS, ROOT, base_env, run_cli

FLOW = str(ROOT / "examples" / "nightly-mosaic.yaml")


def test_nightly_mosaic_runs_locally_and_reproduces_the_scene(tmp_path: Path) -> None:
    env = base_env(BATCH_TASK_HOME=str(tmp_path / "home"), WORKFLOW_STATE=str(tmp_path / "runs"))
    out = tmp_path / "nightly"
    args = ["workflow", "local", FLOW, "-p", f"out={out}", "-e", "CLOUDWATCH_LOG_GROUP="]
    result = run_cli(args, env, timeout=300)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.splitlines()[-1]
    run = json.loads((tmp_path / "runs" / run_id / "run.json").read_text())
    assert run["nodes"]["ingest"]["children"] == {"SUCCEEDED": 4}
    assert sorted(p.name for p in (out / "cogs").glob("*.tif")) == [
        f"rgb{i}.tif" for i in range(1, 5)
    ]
    with (
        rasterio.open(out / "mosaic.tif") as mosaic,
        rasterio.open(RASTERS / "RGB.byte.tif") as scene,
    ):
        west, south, east, north = transform_bounds(mosaic.crs, "EPSG:4326", *mosaic.bounds)
        assert -78.55 < west < -78.45 and -77.05 < east < -76.95
        assert 23.95 < south < 24.05 and 25.15 < north < 25.25
        got = mosaic.read()
        window = from_bounds(*mosaic.bounds, transform=scene.transform).round_offsets()
        expected = scene.read(window=window, boundless=True)
        valid = got != (mosaic.nodata or 0)
        assert valid.mean() > 0.5  # the AOI's quadrilateral covers most of its bounding box
        np.testing.assert_array_equal(got[valid], expected[valid])
