"""Every GDAL setting the raster tasks run under, in one place, with one value each.

The tasks apply them with `rasterio.Env(**gdal_env(...))` around everything that reads or
writes pixels, so that a local run, a test and a container run alike. Each is a default: a
variable of the same name in the job's environment wins, so that an operator can tune GDAL
from a job definition without a new image.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from runtime import UsageError
from runtime.uris import HTTP_TIMEOUT
from tasks.raster.resources import MIB, Resources

DEFAULTS: Mapping[str, str] = {
    # No directory listing at each open: on S3 a listing costs a request per input and finds
    # nothing a GeoTIFF needs.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # /vsicurl/ and /vsis3/ open only these; GDAL does not probe for sidecar files remotely.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF,.vrt,.jp2,.json,.geojson",
    # Transient HTTP errors (429, 5xx) are retried 3 times, the first after 1 s and then
    # longer, before the read fails and the task exits 75 for the job's retry strategy.
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    # Bounded waits: 10 s to connect, and the read timeout of the runtime's own HTTP reads.
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_TIMEOUT": str(HTTP_TIMEOUT),
    # HTTP/2 where the server offers it, several ranges per connection, neighbouring ranges
    # merged, and a first read of 32 KiB that holds a COG's header.
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_VERSION": "2",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    # No .aux.xml files beside the inputs or the outputs.
    "GDAL_PAM_ENABLED": "NO",
}


def gdal_env(machine: Resources, environ: Mapping[str, str]) -> dict[str, str | int]:
    """The rasterio.Env options: the defaults, /vsis3/ on boto3's endpoint, the block cache
    sized for this container, then whatever the environment sets of the same names.

    GDAL_CACHEMAX is given in bytes (an integer means bytes to rasterio.Env, not megabytes).
    Threads go to the drivers' NUM_THREADS option, never GDAL_NUM_THREADS: that would also
    make the GeoTIFF reader decode in threads whose errors no longer name the band of a
    corrupt tile.
    """
    config: dict[str, str | int] = {**DEFAULTS, **s3_endpoint(environ)}
    config.update({name: environ[name] for name in config if name in environ})
    config["GDAL_CACHEMAX"] = cache_bytes(environ.get("GDAL_CACHEMAX"), machine)
    return config


def cache_bytes(setting: str | None, machine: Resources) -> int:
    """GDAL_CACHEMAX in bytes, which rasterio.Env requires: the container's share when unset,
    else read as GDAL reads it (`25%` of the memory, a number below 100,000 in megabytes,
    else bytes)."""
    text = (setting or "").strip()
    try:
        if not text:
            return machine.gdal_cache_mib * MIB
        if text.endswith("%"):
            return int(machine.memory_bytes * float(text[:-1]) / 100)
        value = int(text)
    except ValueError:
        raise UsageError(
            f"GDAL_CACHEMAX={setting!r} is not a cache size: give megabytes (128), "
            "bytes (134217728) or a share of the memory (10%)"
        ) from None
    return value * MIB if value < 100_000 else value


def s3_endpoint(environ: Mapping[str, str]) -> dict[str, str]:
    """/vsis3/ pointed where boto3 points (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL), if set."""
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return {}
    parsed = urlparse(endpoint)
    return {
        "AWS_S3_ENDPOINT": parsed.netloc or parsed.path,
        "AWS_HTTPS": "NO" if parsed.scheme == "http" else "YES",
        "AWS_VIRTUAL_HOSTING": "FALSE",
    }
