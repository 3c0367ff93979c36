"""`ingest` from local files to local files, through the real CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

from tests.conftest import (
    RASTERS,
    Run,
    base_env,
    run_cli,
    signal_and_collect,
    start_cli,
    wait_for_event,
)
from tests.ingest_checks import (
    ALL_RASTERS,
    REFUSED,
    assert_item,
    assert_png,
    assert_same_pixels,
    assert_valid_cog,
    make_raster,
    read_json,
)


def ingest(*args: str) -> Run:
    return run_cli(["ingest", *args], base_env())


@pytest.mark.parametrize("name", ALL_RASTERS)
def test_every_test_raster_is_ingested_or_refused(name: str, tmp_path: Path) -> None:
    destination = tmp_path / "out" / name
    run = ingest("--source", str(RASTERS / name), "--destination", str(destination))
    if name in REFUSED:
        code, words = REFUSED[name]
        assert run.returncode == code, run.stdout
        error = run.one("task.failed")["error"]
        assert all(word in error for word in words), error
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
        return
    assert run.returncode == 0, run.stdout + run.stderr
    result = run.one("task.succeeded")["result"]
    assert result["cog"] == str(destination)
    assert result["skipped"] is False
    assert_valid_cog(destination)
    assert_same_pixels(destination, RASTERS / name)
    with rasterio.open(RASTERS / name) as src:
        assert (result["width"], result["height"], result["count"]) == (
            src.width,
            src.height,
            src.count,
        )
        assert result["bounds"] == pytest.approx(list(src.bounds))
    item = read_json(destination.with_suffix(".json"))
    assert_item(item, f"./{name}", f"./{destination.with_suffix('.png').name}", result["count"])
    assert_png(destination.with_suffix(".png"))
    assert sorted(p.name for p in destination.parent.iterdir()) == sorted(
        [name, destination.with_suffix(".json").name, destination.with_suffix(".png").name]
    )


def test_stac_item_fields(tmp_path: Path) -> None:
    destination = tmp_path / "rgb.tif"
    run = ingest("--source", str(RASTERS / "RGB.byte.tif"), "--destination", str(destination))
    assert run.returncode == 0, run.stdout
    item = read_json(tmp_path / "rgb.json")
    props = item["properties"]
    assert props["proj:code"] == "EPSG:32618"
    assert props["proj:shape"] == [718, 791]
    assert props["proj:transform"] == pytest.approx(
        [300.0379, 0, 101985, 0, -300.0417, 2826915], rel=1e-4
    )
    bands = item["assets"]["data"]["raster:bands"]
    assert [b["data_type"] for b in bands] == ["uint8"] * 3
    assert all(b["nodata"] == 0 for b in bands)
    stats = bands[0]["statistics"]
    assert 0 < stats["minimum"] <= stats["mean"] <= stats["maximum"] <= 255
    assert 0 < stats["valid_percent"] < 100
    assert item["assets"]["data"]["file:size"] == destination.stat().st_size
    assert item["assets"]["thumbnail"]["roles"] == ["thumbnail"]
    # The footprint of valid pixels (a tilted scene inside its nodata collar), in EPSG:4326.
    assert item["geometry"]["type"] == "Polygon"
    west, south, east, north = item["bbox"]
    assert -79 < west < east < -76 and 23 < south < north < 26
    ring = np.array(item["geometry"]["coordinates"][0])
    assert 4 < len(ring) < 300
    assert any(
        schema.startswith("https://stac-extensions.github.io/projection/")
        for schema in item["stac_extensions"]
    )


@pytest.mark.parametrize("form", ["relative", "absolute", "file-uri"])
def test_pystac_follows_every_asset_href_of_the_item(form: str, tmp_path: Path) -> None:
    """The Item's hrefs resolve from the Item's own location, whatever directory ingest ran in
    (a relative destination, as `make demo` uses, once resolved to out/out/scene.tif)."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    folder = {"relative": workdir / "out", "absolute": tmp_path / "abs", "file-uri": tmp_path / "f"}
    destination = {
        "relative": "out/scene.tif",
        "absolute": str(folder["absolute"] / "scene.tif"),
        "file-uri": (folder["file-uri"] / "scene.tif").as_uri(),
    }[form]
    command = [sys.executable, "-m", "runtime", "ingest", "--source", str(RASTERS / "RGB.byte.tif")]
    run = subprocess.run(
        [*command, "--destination", destination],
        env=base_env(),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    item = pystac.Item.from_file(str(folder[form] / "scene.json"))
    hrefs = {key: asset.get_absolute_href() for key, asset in item.assets.items()}
    assert hrefs == {
        "data": str(folder[form] / "scene.tif"),
        "thumbnail": str(folder[form] / "scene.png"),
    }
    assert item.assets["data"].href == "./scene.tif"
    with rasterio.open(hrefs["data"]) as cog, rasterio.open(RASTERS / "RGB.byte.tif") as src:
        assert np.array_equal(cog.read(), src.read())
    assert Path(str(hrefs["thumbnail"])).read_bytes().startswith(b"\x89PNG\r\n")


def test_retry_of_a_complete_output_is_skipped(tmp_path: Path) -> None:
    destination = tmp_path / "shade.tif"
    args = ("--source", str(RASTERS / "shade.tif"), "--destination", str(destination))
    first = ingest(*args)
    assert first.returncode == 0, first.stdout
    before = destination.stat().st_mtime_ns
    second = ingest(*args)
    assert second.returncode == 0, second.stdout
    result = second.one("task.succeeded")["result"]
    assert result["skipped"] is True
    assert destination.stat().st_mtime_ns == before
    assert {k: v for k, v in result.items() if k != "skipped"} == {
        k: v for k, v in first.one("task.succeeded")["result"].items() if k != "skipped"
    }


def test_a_different_existing_output_is_73_unless_overwrite(tmp_path: Path) -> None:
    destination = tmp_path / "shade.tif"
    args = ("--source", str(RASTERS / "shade.tif"), "--destination", str(destination))
    assert ingest(*args).returncode == 0
    other = ingest(*args, "--compress", "zstd")
    assert other.returncode == 73, other.stdout
    assert "--overwrite" in other.one("task.failed")["error"]
    replaced = ingest(*args, "--compress", "zstd", "--overwrite", "true")
    assert replaced.returncode == 0, replaced.stdout
    with rasterio.open(destination) as cog:
        assert cog.compression.name == "zstd"


def test_a_foreign_file_at_the_destination_is_73(tmp_path: Path) -> None:
    destination = tmp_path / "x.tif"
    destination.write_bytes(b"not ours")
    run = ingest("--source", str(RASTERS / "shade.tif"), "--destination", str(destination))
    assert run.returncode == 73, run.stdout
    assert destination.read_bytes() == b"not ours"


def test_missing_input_is_66(tmp_path: Path) -> None:
    run = ingest("--source", str(tmp_path / "nope.tif"), "--destination", str(tmp_path / "o.tif"))
    assert run.returncode == 66, run.stdout
    assert "nope.tif" in run.one("task.failed")["error"]


def test_not_a_raster_is_65(tmp_path: Path) -> None:
    text = tmp_path / "notes.tif"
    text.write_text("hello")
    run = ingest("--source", str(text), "--destination", str(tmp_path / "o.tif"))
    assert run.returncode == 65, run.stdout
    assert "notes.tif" in run.one("task.failed")["error"]


def test_a_raster_without_a_crs_is_65_and_says_what_it_lacks(tmp_path: Path) -> None:
    from rasterio.transform import from_origin

    plain = tmp_path / "plain.tif"
    profile = {"driver": "GTiff", "width": 16, "height": 16, "count": 1, "dtype": "uint8"}
    with rasterio.open(plain, "w", **profile, transform=from_origin(0, 16, 1, 1)) as dst:
        dst.write(np.ones((1, 16, 16), "uint8"))
    run = ingest("--source", str(plain), "--destination", str(tmp_path / "o.tif"))
    assert run.returncode == 65, run.stdout
    assert (
        "plain.tif' is not georeferenced (it has no CRS); assign one"
        in run.one("task.failed")["error"]
    )


@pytest.mark.parametrize(
    "uri",
    [
        "/vsicurl/http://example.com/x.tif",
        "/vsis3/bucket/x.tif",
        "http://169.254.169.254/latest/meta-data/x.tif",
    ],
)
def test_refused_uris_are_65(uri: str, tmp_path: Path) -> None:
    run = ingest("--source", uri, "--destination", str(tmp_path / "o.tif"))
    assert run.returncode == 65, run.stdout
    assert uri in run.one("task.failed")["error"]


def test_stacking_red_and_green(tmp_path: Path) -> None:
    destination = tmp_path / "rg.tif"
    run = ingest(
        "--source",
        str(RASTERS / "red.tif"),
        "--source",
        str(RASTERS / "green.tif"),
        "--destination",
        str(destination),
    )
    assert run.returncode == 0, run.stdout
    assert_valid_cog(destination)
    with (
        rasterio.open(destination) as out,
        rasterio.open(RASTERS / "red.tif") as red,
        rasterio.open(RASTERS / "green.tif") as green,
    ):
        assert out.count == red.count + green.count
        assert np.array_equal(out.read(), np.concatenate([red.read(), green.read()]))
        assert out.nodata == red.nodata
    assert run.one("task.succeeded")["result"]["count"] == 6


def test_stacking_different_grids_is_65(tmp_path: Path) -> None:
    run = ingest(
        "--source",
        str(RASTERS / "red.tif"),
        "--source",
        str(RASTERS / "shade.tif"),
        "--destination",
        str(tmp_path / "o.tif"),
    )
    assert run.returncode == 65, run.stdout
    error = run.one("task.failed")["error"]
    assert "shade.tif" in error and "red.tif" in error


def test_reprojection(tmp_path: Path) -> None:
    destination = tmp_path / "m.tif"
    run = ingest(
        "--source",
        str(RASTERS / "RGB.byte.tif"),
        "--destination",
        str(destination),
        "--dst-crs",
        "EPSG:3857",
    )
    assert run.returncode == 0, run.stdout
    assert_valid_cog(destination)
    with rasterio.open(destination) as cog:
        assert cog.crs.to_epsg() == 3857
    assert run.one("task.succeeded")["result"]["crs"] == "EPSG:3857"


def test_lossy_codec_on_16_bit_data_is_a_usage_error(tmp_path: Path) -> None:
    run = ingest(
        "--source",
        str(RASTERS / "RGBA.uint16.tif"),
        "--destination",
        str(tmp_path / "o.tif"),
        "--compress",
        "jpeg",
    )
    assert run.returncode == 64, run.stdout
    assert "deflate" in run.one("task.failed")["error"]


@pytest.fixture(scope="module")
def big_raster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_raster(tmp_path_factory.mktemp("big") / "big.tif", 4096)


def test_sigterm_during_conversion_leaves_nothing(big_raster: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start_cli(["ingest", "--source", str(big_raster), "--destination", str(out / "big.tif")])
    lines = wait_for_event(proc, "ingest.plan")
    time.sleep(1.5)
    run = signal_and_collect(proc, signal.SIGTERM, lines)
    assert run.returncode == 143, run.stdout + run.stderr
    assert list(out.iterdir()) == []


def test_list_imports_neither_rasterio_nor_boto3() -> None:
    code = (
        "import sys, os; from runtime import registry; registry.load(os.environ); "
        "assert 'tasks.ingest' in sys.modules; "
        "print(sorted(m for m in ('rasterio', 'boto3', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=base_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
