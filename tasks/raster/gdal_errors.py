"""GDAL's error messages as the task's exit codes: one mapping for every raster task.

GDAL reports failures as text, not codes; the phrases below tell a missing input (66), a
refused one (77), a network hiccup (75) and a broken file (65) apart, and a full disk or the
output's own path from all of them (73). The message GDAL wrote is kept in what the user sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runtime import InputError, InputNotFound, OutputError, PermissionDenied, TransientError
from runtime.errors import TaskError

if TYPE_CHECKING:
    from tasks.raster.sources import Source

_NOT_FOUND = ("no such file", "does not exist", "http response code: 404", "nosuchkey")
_DENIED = ("http response code: 403", "http response code: 401", "access denied", "accessdenied")
_TRANSIENT = (
    "http response code: 5",
    "could not resolve",
    "connection refused",
    "timed out",
    "timeout was reached",
    "connection reset",
    "slowdown",
)
_NOT_RASTER = ("not recognized as", "not a supported file format", "not a raster")


def gdal_error(message: str, uri: str) -> TaskError:
    """The failure a GDAL message describes, with the user's URI in front of it."""
    text = message.lower()
    if any(s in text for s in _DENIED):
        return PermissionDenied(f"{uri!r} refused access: {message}; check credentials")
    if any(s in text for s in _TRANSIENT):
        return TransientError(f"{uri!r} could not be read: {message}; retry later")
    if any(s in text for s in _NOT_FOUND):
        return InputNotFound(f"{uri!r} does not exist: {message}")
    if any(s in text for s in _NOT_RASTER):
        return InputError(f"{uri!r} is not a raster GDAL can read ({message}); give a raster file")
    return InputError(
        f"{uri!r} can't be read: {message}; the file is corrupt or truncated, "
        "so re-create or re-download it"
    )


_OUTPUT_FAILURES = ("no space left", "free disk space", "disk full", "quota exceeded")


def _read_failure(message: str, inputs: Sequence[Source]) -> TaskError:
    """Blame the input GDAL names in its message, or all of them when it names none."""
    named = [s.uri for s in inputs if s.name in message or s.gdal_path in message]
    return gdal_error(message, named[0] if named else ", ".join(s.uri for s in inputs))


def copy_failure(message: str, output: Path, driver: str, inputs: Sequence[Source]) -> TaskError:
    """The output's fault (73) when GDAL names it or a full disk, else the input's it names."""
    if str(output) in message or any(s in message.lower() for s in _OUTPUT_FAILURES):
        return OutputError(f"the {driver} can't be written: {message}")
    return _read_failure(message, inputs)
