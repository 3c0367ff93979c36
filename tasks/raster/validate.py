"""The strict check a COG passes before anything is published.

GDAL's COG driver writes what it is asked to; rio-cogeo's validator is the independent
check that the result is what a COG reader expects (tiled, overviews, header layout).
"""

from __future__ import annotations

from pathlib import Path

from runtime import OutputError


def validate_cog(staged: Path, destination: str) -> None:
    """rio-cogeo's strict check (warnings count as errors) before anything is published."""
    from rio_cogeo.cogeo import cog_validate

    valid, errors, warnings = cog_validate(str(staged), strict=True, quiet=True)
    if not valid:
        problems = "; ".join([*errors, *warnings])
        raise OutputError(
            f"the COG made for {destination!r} failed validation ({problems}); nothing was "
            "published. Report this with the input and options: it is a bug."
        )
