"""COG creation options as data: one named set per `compress` choice, like rio-cogeo's profiles.

Kept apart from the code that runs GDAL so that `export` and any later task write COGs with
the same options, and so that a reviewer sees every option GDAL receives in one place.
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

PROFILES: Mapping[str, Mapping[str, str]] = {
    "deflate": {"COMPRESS": "DEFLATE", "LEVEL": "6"},
    "zstd": {"COMPRESS": "ZSTD", "LEVEL": "9"},
    "lzw": {"COMPRESS": "LZW"},
    "webp": {"COMPRESS": "WEBP", "QUALITY": "75"},
    "jpeg": {"COMPRESS": "JPEG", "QUALITY": "85"},
    "none": {"COMPRESS": "NONE"},
}
COMMON: Mapping[str, str] = {
    "OVERVIEWS": "IGNORE_EXISTING",
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


def creation_options(
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
        **COMMON,
        **PROFILES[compress],
        "BLOCKSIZE": str(blocksize),
        "OVERVIEW_RESAMPLING": overview_resampling.upper(),
        "NUM_THREADS": str(threads),
    }
    if compress in PREDICTED:
        options["PREDICTOR"] = "3" if dtype.startswith(("float", "complex")) else "2"
    if dst_crs:
        options["TARGET_SRS"] = dst_crs
        options["RESAMPLING"] = resampling.upper()
    return options


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
