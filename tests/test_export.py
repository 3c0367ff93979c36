"""The `export` task through the real CLI: mosaics, AOIs, reprojection, S3, retries, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.features import geometry_mask
from rasterio.vrt import WarpedVRT

from tests.conftest import RASTERS, Run, base_env, run_cli

QUADRANTS = [str(RASTERS / f"rgb{i}.tif") for i in (1, 2, 3, 4)]
SCENE = str(RASTERS / "RGB.byte.tif")
NIR_3857 = str(RASTERS / "rgb1_fake_nir_epsg3857.tif")
# A triangle in the scene's own CRS (UTM 18N), so the expected mask needs no reprojection.
TRIANGLE_UTM = {
    "type": "Feature",
    "properties": {},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[150000, 2650000], [300000, 2700000], [200000, 2800000], [150000, 2650000]]
        ],
    },
    "crs": {"type": "name", "properties": {"name": "EPSG:32618"}},
}


def export(*args: str, env: dict[str, str] | None = None) -> Run:
    return run_cli(["export", *args], env)


def succeeded(run: Run) -> dict[str, Any]:
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.one("task.succeeded")["result"]


def failed(run: Run, code: int) -> str:
    assert run.returncode == code, run.stdout[-3000:] + run.stderr[-3000:]
    return run.one("task.failed")["error"]


def sources(*paths: str | Path) -> list[str]:
    return [arg for path in paths for arg in ("--source", str(path))]


def test_tiles_of_one_scene_mosaic_back_into_it_exactly(tmp_path: Path) -> None:
    out = tmp_path / "mosaic.tif"
    run = export(*sources(*QUADRANTS), "--destination", str(out), "--resampling", "nearest")
    result = succeeded(run)

    with rasterio.open(SCENE) as scene, rasterio.open(out) as mosaic:
        assert mosaic.transform == scene.transform
        assert (mosaic.width, mosaic.height, mosaic.count) == (scene.width, scene.height, 3)
        assert np.array_equal(mosaic.read(), scene.read())
        assert mosaic.nodata == 0
        assert mosaic.overviews(1), "a COG has overviews"
    assert result["width"] == 791 and result["height"] == 718 and result["count"] == 3
    assert result["bytes"] == out.stat().st_size and result["skipped"] is False


def test_a_retry_skips_and_other_options_need_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "scene.tif"
    args = [*sources(SCENE), "--destination", str(out), "--format", "GTiff"]
    first = succeeded(export(*args))
    again = succeeded(export(*args))
    assert again == {**first, "skipped": True}

    error = failed(export(*args, "--compress", "zstd"), 73)
    assert "--overwrite" in error and str(out) in error
    replaced = succeeded(export(*args, "--compress", "zstd", "--overwrite", "true"))
    assert replaced["skipped"] is False
    with rasterio.open(out) as dataset:
        assert dataset.compression.value == "ZSTD"
    assert not list(tmp_path.glob(".*partial*")), "no staged file is left behind"


def test_a_polygon_aoi_leaves_nodata_outside_and_source_pixels_inside(tmp_path: Path) -> None:
    out = tmp_path / "triangle.tif"
    aoi = tmp_path / "triangle.geojson"
    aoi.write_text(json.dumps(TRIANGLE_UTM))
    succeeded(export(*sources(SCENE), "--destination", str(out), "--aoi", str(aoi)))

    with rasterio.open(out) as clip, rasterio.open(SCENE) as scene:
        inside = geometry_mask([TRIANGLE_UTM["geometry"]], clip.shape, clip.transform, invert=True)
        window = scene.window(*clip.bounds)
        expected = scene.read(window=window)
        assert clip.transform.almost_equals(scene.window_transform(window))
        data = clip.read()
    assert inside.any() and (~inside).any()
    assert (data[:, ~inside] == 0).all()
    assert np.array_equal(data[:, inside], expected[:, inside])


def test_a_bbox_in_degrees_with_a_geographic_output(tmp_path: Path) -> None:
    out = tmp_path / "bbox.tif"
    bbox = (-77.5, 24.5, -76.8, 25.2)
    result = succeeded(
        export(
            *sources(SCENE),
            "--destination",
            str(out),
            "--aoi",
            ",".join(map(str, bbox)),
            "--dst-crs",
            "EPSG:4326",
            "--format",
            "GTiff",
        )
    )
    assert result["crs"] == "EPSG:4326"
    with rasterio.open(out) as dataset:
        assert dataset.crs.to_epsg() == 4326
        res = dataset.res[0]
        for got, want in zip(dataset.bounds, bbox, strict=True):
            assert abs(got - want) <= res
        valid = dataset.read_masks(1) > 0
    assert 0.5 < valid.mean() < 1.0, "the scene's nodata collar shows, most of the box is data"


def test_sources_in_different_crss_mosaic_onto_one_grid(tmp_path: Path) -> None:
    out = tmp_path / "mixed.tif"
    succeeded(
        export(
            *sources(QUADRANTS[3], NIR_3857),
            "--destination",
            str(out),
            "--bands",
            "1",
            "--resampling",
            "nearest",
        )
    )
    with rasterio.open(out) as mosaic, rasterio.open(QUADRANTS[3]) as first:
        assert mosaic.crs == first.crs and mosaic.count == 1
        data = mosaic.read(1)
        grid = {"crs": mosaic.crs, "transform": mosaic.transform}
        grid.update(width=mosaic.width, height=mosaic.height)
        expected = {}
        for path in (QUADRANTS[3], NIR_3857):
            with rasterio.open(path) as src, WarpedVRT(src, resampling=0, **grid) as vrt:
                expected[path] = (vrt.read(1), vrt.read_masks(1) > 0)
    first_data, first_valid = expected[QUADRANTS[3]]
    nir_data, nir_valid = expected[NIR_3857]
    only_nir = nir_valid & ~first_valid
    assert first_valid.sum() > 10_000 and only_nir.sum() > 10_000
    assert (data[first_valid] == first_data[first_valid]).mean() > 0.99, "the first source wins"
    # Nearest neighbour on a warp of the source's own window: a few pixel centres fall the
    # other way of a source pixel edge than in a warp of the whole grid.
    assert (data[only_nir] == nir_data[only_nir]).mean() > 0.97
    assert (data[~first_valid & ~nir_valid] == 0).mean() > 0.99


def test_s3_in_and_out_through_moto(
    tmp_path: Path, s3: Any, bucket: str, aws_env: dict[str, str]
) -> None:
    for path in QUADRANTS:
        s3.upload_file(path, bucket, f"in/{Path(path).name}")
    args = [
        *sources(*(f"s3://{bucket}/in/{Path(p).name}" for p in QUADRANTS)),
        "--destination", f"s3://{bucket}/out/scene.tif",
        "--resampling", "nearest",
    ]  # fmt: skip
    env = base_env(**aws_env)
    result = succeeded(export(*args, env=env))
    assert result["destination"] == f"s3://{bucket}/out/scene.tif"

    local = tmp_path / "scene.tif"
    s3.download_file(bucket, "out/scene.tif", str(local))
    with rasterio.open(local) as mosaic, rasterio.open(SCENE) as scene:
        assert np.array_equal(mosaic.read(), scene.read())
    assert result["bytes"] == local.stat().st_size
    head = s3.head_object(Bucket=bucket, Key="out/scene.tif")
    assert "cloud-optimized" in head["ContentType"]
    assert succeeded(export(*args, env=env))["skipped"] is True
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


@pytest.mark.parametrize(
    ("aoi", "code", "words"),
    [
        ("0,0,1,1", 65, "does not overlap any source"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0]', 65, "not valid JSON"),
        ('{"type": "Point", "coordinates": [-77, 25]}', 65, "no Polygon"),
        ("-77,25,-78,26", 65, "empty or inverted"),
        ("/nonexistent/aoi.geojson", 66, "does not exist"),
    ],
)
def test_bad_aois_are_refused_with_what_to_fix(
    tmp_path: Path, aoi: str, code: int, words: str
) -> None:
    out = tmp_path / "out.tif"
    error = failed(export(*sources(SCENE), "--destination", str(out), "--aoi", aoi), code)
    assert words in error
    assert not out.exists()


def test_a_missing_source_is_66_and_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tif"
    error = failed(export(*sources(SCENE, missing), "--destination", str(tmp_path / "o.tif")), 66)
    assert str(missing) in error


def test_bands_every_source_lacks_are_65(tmp_path: Path) -> None:
    run = export(*sources(SCENE, NIR_3857), "--destination", str(tmp_path / "o.tif"))
    error = failed(run, 65)
    assert str(NIR_3857) in error and "--bands" in error


def test_an_alpha_band_masks_its_source_and_marks_the_output(tmp_path: Path) -> None:
    out = tmp_path / "alpha.tif"
    source = str(RASTERS / "alpha.tif")
    result = succeeded(
        export(*sources(source), "--destination", str(out), "--resampling", "nearest")
    )
    assert result["count"] == 4, "RGB from the source, plus an alpha band marking valid pixels"
    with rasterio.open(out) as clip, rasterio.open(source) as src:
        assert clip.colorinterp[3].name == "alpha" and clip.nodata is None
        data, expected = clip.read(), src.read()
    valid = expected[3] > 0
    assert np.array_equal(data[3] > 0, valid)
    assert np.array_equal(data[:3, valid], expected[:3, valid])
