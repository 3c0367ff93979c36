"""The one place GDAL's settings come from: defaults, boto3's endpoint, the cache sized for
the container, and the job's environment overriding any of them."""

from __future__ import annotations

import pytest

from runtime import UsageError
from tasks.raster.gdal_config import DEFAULTS, gdal_env
from tasks.raster.resources import MIB, Resources

SMALL = Resources(cpus=2, memory_bytes=512 * MIB)
LARGE = Resources(cpus=2, memory_bytes=64 * 1024 * MIB)


def test_defaults_with_the_cache_sized_for_the_container() -> None:
    config = gdal_env(SMALL, {})
    assert {k: config[k] for k in DEFAULTS} == dict(DEFAULTS)
    assert config["GDAL_HTTP_MAX_RETRY"] == "3"
    assert config["GDAL_CACHEMAX"] == SMALL.gdal_cache_mib * MIB == 32 * MIB
    assert "AWS_S3_ENDPOINT" not in config


def test_the_cache_never_exceeds_its_cap_on_a_large_machine() -> None:
    assert gdal_env(LARGE, {})["GDAL_CACHEMAX"] == LARGE.gdal_cache_mib * MIB
    assert LARGE.gdal_cache_mib == 64


def test_vsis3_follows_boto3_s_endpoint() -> None:
    config = gdal_env(SMALL, {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert (config["AWS_S3_ENDPOINT"], config["AWS_HTTPS"], config["AWS_VIRTUAL_HOSTING"]) == (
        "127.0.0.1:5000",
        "NO",
        "FALSE",
    )
    s3_only = gdal_env(SMALL, {"AWS_ENDPOINT_URL_S3": "https://s3.example.test"})
    assert (s3_only["AWS_S3_ENDPOINT"], s3_only["AWS_HTTPS"]) == ("s3.example.test", "YES")


def test_the_environment_overrides_a_default() -> None:
    config = gdal_env(SMALL, {"GDAL_HTTP_MAX_RETRY": "7", "AWS_HTTPS": "YES", "UNRELATED": "x"})
    assert config["GDAL_HTTP_MAX_RETRY"] == "7"
    assert "UNRELATED" not in config


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("256", 256 * MIB), ("200000000", 200_000_000), ("10%", 512 * MIB // 10), (" 64 ", 64 * MIB)],
)
def test_gdal_cachemax_from_the_environment_is_read_as_gdal_reads_it(
    setting: str, expected: int
) -> None:
    assert gdal_env(SMALL, {"GDAL_CACHEMAX": setting})["GDAL_CACHEMAX"] == expected


def test_a_gdal_cachemax_that_is_no_size_is_a_usage_error_64() -> None:
    with pytest.raises(UsageError) as raised:
        gdal_env(SMALL, {"GDAL_CACHEMAX": "lots"})
    assert raised.value.exit_code == 64
    assert "GDAL_CACHEMAX='lots' is not a cache size" in str(raised.value)
