"""`ingest` from S3 to S3 through moto's server, GDAL and boto3 both pointed at it."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
from pystac.stac_io import DefaultStacIO

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
    assert_same_pixels,
    assert_valid_cog,
    make_raster,
)


def ingest(source: str, destination: str, aws_env: dict[str, str]) -> Run:
    return run_cli(
        ["ingest", "--source", source, "--destination", destination], base_env(**aws_env)
    )


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def open_uploads(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


class S3StacIO(DefaultStacIO):
    """pystac reads s3:// through boto3 (pointed at moto); other hrefs as pystac does."""

    def __init__(self, s3: Any) -> None:
        super().__init__()
        self.s3 = s3

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        href = str(source)
        if not href.startswith("s3://"):
            return super().read_text(source, *args, **kwargs)
        bucket, _, key = href.removeprefix("s3://").partition("/")
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_pystac_follows_every_asset_href_to_s3(
    s3: Any, bucket: str, aws_env: dict[str, str]
) -> None:
    s3.upload_file(str(RASTERS / "RGB.byte.tif"), bucket, "in/RGB.byte.tif")
    run = ingest(f"s3://{bucket}/in/RGB.byte.tif", f"s3://{bucket}/out/scene.tif", aws_env)
    assert run.returncode == 0, run.stdout + run.stderr
    item = pystac.Item.from_file(f"s3://{bucket}/out/scene.json", stac_io=S3StacIO(s3))
    hrefs = {key: asset.get_absolute_href() for key, asset in item.assets.items()}
    assert hrefs == {
        "data": f"s3://{bucket}/out/scene.tif",
        "thumbnail": f"s3://{bucket}/out/scene.png",
    }
    endpoint = aws_env["AWS_ENDPOINT_URL"].removeprefix("http://")
    with (
        rasterio.Env(AWS_S3_ENDPOINT=endpoint, AWS_HTTPS="NO", AWS_VIRTUAL_HOSTING="FALSE"),
        rasterio.open(str(hrefs["data"])) as cog,
        rasterio.open(RASTERS / "RGB.byte.tif") as src,
    ):
        assert np.array_equal(cog.read(), src.read())
    png = s3.get_object(Bucket=bucket, Key=str(hrefs["thumbnail"]).split("/", 3)[3])
    assert png["Body"].read().startswith(b"\x89PNG\r\n")


@pytest.mark.parametrize("name", ALL_RASTERS)
def test_s3_to_s3(name: str, s3: Any, bucket: str, aws_env: dict[str, str], tmp_path: Path) -> None:
    s3.upload_file(str(RASTERS / name), bucket, f"in/{name}")
    destination = f"s3://{bucket}/out/{name}"
    run = ingest(f"s3://{bucket}/in/{name}", destination, aws_env)
    if name in REFUSED:
        code, words = REFUSED[name]
        assert run.returncode == code, run.stdout
        assert all(word in run.one("task.failed")["error"] for word in words)
        assert keys(s3, bucket, "out/") == []
        return
    assert run.returncode == 0, run.stdout + run.stderr
    stem = name.removesuffix(".tif")
    assert keys(s3, bucket, "out/") == [f"out/{stem}.json", f"out/{stem}.png", f"out/{name}"]
    local = tmp_path / name
    s3.download_file(bucket, f"out/{name}", str(local))
    assert_valid_cog(local)
    assert_same_pixels(local, RASTERS / name)
    item = json.loads(s3.get_object(Bucket=bucket, Key=f"out/{stem}.json")["Body"].read())
    result = run.one("task.succeeded")["result"]
    assert_item(item, destination, f"s3://{bucket}/out/{stem}.png", result["count"])
    head = s3.head_object(Bucket=bucket, Key=f"out/{name}")
    assert head["ContentType"] == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert open_uploads(s3, bucket) == []


def test_s3_retry_is_skipped_and_other_options_are_73(
    s3: Any, bucket: str, aws_env: dict[str, str]
) -> None:
    s3.upload_file(str(RASTERS / "shade.tif"), bucket, "in/shade.tif")
    args = ["ingest", "--source", f"s3://{bucket}/in/shade.tif"]
    args += ["--destination", f"s3://{bucket}/out/shade.tif"]
    env = base_env(**aws_env)
    assert run_cli(args, env).returncode == 0
    etag = s3.head_object(Bucket=bucket, Key="out/shade.tif")["ETag"]
    again = run_cli(args, env)
    assert again.returncode == 0, again.stdout
    assert again.one("task.succeeded")["result"]["skipped"] is True
    assert s3.head_object(Bucket=bucket, Key="out/shade.tif")["ETag"] == etag
    other = run_cli([*args, "--blocksize", "256"], env)
    assert other.returncode == 73, other.stdout


def test_missing_s3_object_is_66(s3: Any, bucket: str, aws_env: dict[str, str]) -> None:
    run = ingest(f"s3://{bucket}/in/none.tif", f"s3://{bucket}/out/x.tif", aws_env)
    assert run.returncode == 66, run.stdout
    assert "none.tif" in run.one("task.failed")["error"]


def test_missing_destination_bucket_is_73(s3: Any, bucket: str, aws_env: dict[str, str]) -> None:
    s3.upload_file(str(RASTERS / "red.tif"), bucket, "in/red.tif")
    run = ingest(f"s3://{bucket}/in/red.tif", "s3://no-such-bucket-here/x.tif", aws_env)
    assert run.returncode == 73, run.stdout


@pytest.fixture(scope="module")
def big_raster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_raster(tmp_path_factory.mktemp("big") / "big.tif", 4096)


def test_sigterm_during_conversion_leaves_nothing_in_s3(
    big_raster: Path, s3: Any, bucket: str, aws_env: dict[str, str]
) -> None:
    proc = start_cli(
        ["ingest", "--source", str(big_raster), "--destination", f"s3://{bucket}/out/big.tif"],
        base_env(**aws_env),
    )
    lines = wait_for_event(proc, "ingest.plan")
    time.sleep(1.5)
    run = signal_and_collect(proc, signal.SIGTERM, lines)
    assert run.returncode == 143, run.stdout + run.stderr
    assert keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []
