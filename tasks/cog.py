"""Conversion to a Cloud-Optimized GeoTIFF with GDAL's COG driver, and its strict validation.

GDAL's CreateCopy streams: it reads the source block by block, builds overviews in a
temporary file and writes the COG without holding the raster in memory (unlike
`rasterio.open(..., "w", driver="COG")`, which buffers everything until close). The same
pass reads every source pixel, so a corrupt tile fails the conversion: no second read is
needed to validate the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from runtime import Cancelled, OutputError
from runtime.errors import TaskError

_OUTPUT_FAILURES = ("no space left", "free disk space", "disk full", "quota exceeded")


def convert(
    source: str,
    staged: Path,
    options: Mapping[str, str],
    config: Mapping[str, str | int],
    progress: Callable[[float], bool],
    describe_failure: Callable[[str], TaskError],
) -> None:
    """Write `source` (a GDAL path or VRT XML) as a COG at `staged`.

    `progress` receives GDAL's fraction done and returns False to cancel; a failure GDAL
    reports about the input goes through `describe_failure`, which names the input.
    """
    import rasterio

    from tasks.gdal_copy import CopyError, create_copy

    try:
        with rasterio.Env(**config):
            create_copy(source, str(staged), "COG", options, progress)
    except CopyError as exc:
        if exc.cancelled:
            raise Cancelled("the conversion was cancelled") from None
        message = _most_specific(exc.messages) or str(exc)
        if str(staged) in message or any(s in message.lower() for s in _OUTPUT_FAILURES):
            raise OutputError(f"the COG can't be written: {message}") from exc
        raise describe_failure(message) from exc


def _most_specific(messages: list[str]) -> str | None:
    """GDAL's message that names the file and band, when there is one (threads reorder them)."""
    naming = [m for m in messages if ", band " in m]
    return (naming or messages or [None])[-1]


def validate(staged: Path, destination: str) -> None:
    """rio-cogeo's strict check (warnings count as errors) before anything is published."""
    from rio_cogeo.cogeo import cog_validate

    valid, errors, warnings = cog_validate(str(staged), strict=True, quiet=True)
    if not valid:
        problems = "; ".join([*errors, *warnings])
        raise OutputError(
            f"the COG made for {destination!r} failed validation ({problems}); nothing was "
            "published. Report this with the input and options: it is a bug."
        )
