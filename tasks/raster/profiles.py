"""Creation options as data: one named set per `compress` choice, like rio-cogeo's profiles.

Kept apart from the code that runs GDAL so that every task writes COGs and GeoTIFFs with the
same options, and so that a reviewer sees every option GDAL receives in one place. The COG
driver's spelling is the reference; the GTiff driver's sets are derived from it, so a level
or quality is chosen once for both drivers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from runtime import UsageError

Compress = Literal["deflate", "zstd", "lzw", "webp", "jpeg", "none"]
WarpResampling = Literal[
    "nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average", "mode", "min", "max"
]
OverviewResampling = Literal[
    "nearest", "bilinear", "cubic", "cubicspline", "lanczos", "average", "mode", "rms"
]

COG_PROFILES: Mapping[str, Mapping[str, str]] = {
    "deflate": {"COMPRESS": "DEFLATE", "LEVEL": "6"},
    "zstd": {"COMPRESS": "ZSTD", "LEVEL": "9"},
    "lzw": {"COMPRESS": "LZW"},
    "webp": {"COMPRESS": "WEBP", "QUALITY": "75"},
    "jpeg": {"COMPRESS": "JPEG", "QUALITY": "85"},
    "none": {"COMPRESS": "NONE"},
}
# The COG driver's option names that the GTiff driver spells differently, per codec.
GTIFF_NAMES: Mapping[tuple[str, str], str] = {
    ("deflate", "LEVEL"): "ZLEVEL",
    ("zstd", "LEVEL"): "ZSTD_LEVEL",
    ("jpeg", "QUALITY"): "JPEG_QUALITY",
    ("webp", "QUALITY"): "WEBP_LEVEL",
}
GTIFF_PROFILES: Mapping[str, Mapping[str, str]] = {
    compress: {GTIFF_NAMES.get((compress, key), key): value for key, value in profile.items()}
    for compress, profile in COG_PROFILES.items()
}
COG_COMMON: Mapping[str, str] = {
    "OVERVIEWS": "IGNORE_EXISTING",
    "BIGTIFF": "IF_SAFER",
}
GTIFF_COMMON: Mapping[str, str] = {
    "TILED": "YES",
    "BIGTIFF": "IF_SAFER",
}
LOSSLESS = frozenset({"deflate", "zstd", "lzw", "none"})
PREDICTED = frozenset({"deflate", "zstd", "lzw"})
# What each lossy codec can hold, from GDAL's COG driver documentation.
BYTE_ONLY_BANDS: Mapping[str, frozenset[int]] = {
    "jpeg": frozenset({1, 3}),
    "webp": frozenset({3, 4}),
}
MIN_BLOCKSIZE = 16
MAX_BLOCKSIZE = 4096


def cog_options(
    compress: str,
    *,
    dtype: str,
    count: int,
    blocksize: int,
    overview_resampling: str,
    threads: int,
    dst_crs: str | None = None,
    resampling: str = "bilinear",
) -> dict[str, str]:
    """The COG driver options for this data; refuses combinations GDAL would reject mid-copy."""
    check_blocksize(blocksize)
    check_codec(compress, dtype, count)
    options = {
        **COG_COMMON,
        **COG_PROFILES[compress],
        "BLOCKSIZE": str(blocksize),
        "OVERVIEW_RESAMPLING": overview_resampling.upper(),
        "NUM_THREADS": str(threads),
        **_predictor(compress, dtype),
    }
    if dst_crs:
        options["TARGET_SRS"] = dst_crs
        options["RESAMPLING"] = resampling.upper()
    return options


def gtiff_options(
    compress: str, *, dtype: str, count: int, blocksize: int, threads: int
) -> dict[str, str]:
    """The GTiff driver options (tiled, no overviews); refuses what GDAL would reject mid-copy."""
    check_blocksize(blocksize)
    check_codec(compress, dtype, count)
    return {
        **GTIFF_COMMON,
        **GTIFF_PROFILES[compress],
        "BLOCKXSIZE": str(blocksize),
        "BLOCKYSIZE": str(blocksize),
        "NUM_THREADS": str(threads),
        **_predictor(compress, dtype),
    }


def _predictor(compress: str, dtype: str) -> dict[str, str]:
    """Horizontal differencing for integers, GDAL's floating-point predictor for floats."""
    if compress not in PREDICTED:
        return {}
    return {"PREDICTOR": "3" if dtype.startswith(("float", "complex")) else "2"}


def check_blocksize(blocksize: int) -> None:
    if not MIN_BLOCKSIZE <= blocksize <= MAX_BLOCKSIZE or blocksize % 16:
        raise UsageError(
            f"blocksize {blocksize} is not usable: TIFF tiles need a multiple of 16 between "
            f"{MIN_BLOCKSIZE} and {MAX_BLOCKSIZE}; the usual choices are 256 and 512"
        )


def check_codec(compress: str, dtype: str, count: int) -> None:
    bands = BYTE_ONLY_BANDS.get(compress)
    if bands is not None and (dtype != "uint8" or count not in bands):
        allowed = " or ".join(str(n) for n in sorted(bands))
        raise UsageError(
            f"compress={compress} needs 8-bit data with {allowed} bands, but the input is "
            f"{dtype} with {count} band(s); use compress=deflate or zstd (lossless) instead"
        )
