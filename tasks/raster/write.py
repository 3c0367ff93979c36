"""GDALCreateCopy with a progress callback, called through the GDAL library rasterio loaded.

Every output a task writes is one such copy of a GDAL path or VRT XML. CreateCopy streams: it
reads the source block by block (the COG driver builds overviews in a temporary file) and
never holds the raster in memory, unlike `rasterio.open(..., "w", driver="COG")`, which
buffers everything until close. The same pass reads every source pixel, so a corrupt tile
fails the copy: no second read is needed to validate the input.

`rasterio.shutil.copy` runs the same GDALCreateCopy but passes no progress function, so a
long COG conversion can neither report progress nor be stopped: GDAL holds the calling
thread until it returns. GDAL's own way to stop a copy is a progress callback that returns 0,
so this module calls GDALCreateCopy from rasterio's bundled libgdal (same driver registry and
same configuration as rasterio) with one.

GDAL's error messages are collected during the copy so that a failure names the file and
band GDAL complained about. The COG driver reads and compresses in its own worker threads,
whose errors only reach the process-wide handler, so the copy pushes a handler for its own
thread and installs a process-wide one that records, then forwards to the one it replaced
(rasterio's logging).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rasterio  # also loads the libgdal this module calls (see _loaded_libgdal)

from runtime import Cancelled
from tasks.raster.gdal_errors import copy_failure

if TYPE_CHECKING:
    from tasks.raster.sources import Source

GA_READONLY_RASTER = 0x02  # GDAL_OF_RASTER
CE_FAILURE = 3
CPLE_USER_INTERRUPT = 9

_PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_double, ctypes.c_char_p, ctypes.c_void_p)
_ERROR_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_char_p)


class CopyError(Exception):
    """GDALCreateCopy failed; `messages` holds GDAL's errors, most specific last."""

    def __init__(self, messages: list[str], cancelled: bool = False) -> None:
        self.messages = messages
        self.cancelled = cancelled
        super().__init__("; ".join(messages) or "GDAL failed without a message")

    @property
    def most_specific(self) -> str:
        """GDAL's message that names the file and band, when there is one (threads reorder them)."""
        naming = [m for m in self.messages if ", band " in m]
        return (naming or self.messages or [str(self)])[-1]


_copying = threading.Lock()
_messages: list[str] = []
_previous: list[Any] = []


@_ERROR_HANDLER
def _collect(error_class: int, number: int, message: bytes | None) -> None:
    if error_class >= CE_FAILURE or number == CPLE_USER_INTERRUPT:
        _messages.append((message or b"").decode("utf-8", "replace"))


@_ERROR_HANDLER
def _collect_and_forward(error_class: int, number: int, message: bytes | None) -> None:
    _collect(error_class, number, message)
    if _previous and _previous[0]:
        _previous[0](error_class, number, message)


@cache
def _gdal() -> ctypes.CDLL:
    path = _loaded_libgdal()
    lib = ctypes.CDLL(path)
    lib.GDALOpenEx.restype = ctypes.c_void_p
    lib.GDALOpenEx.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p] + [
        ctypes.c_void_p
    ] * 2
    lib.GDALGetDriverByName.restype = ctypes.c_void_p
    lib.GDALGetDriverByName.argtypes = [ctypes.c_char_p]
    lib.GDALCreateCopy.restype = ctypes.c_void_p
    lib.GDALCreateCopy.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_char_p),
        _PROGRESS,
        ctypes.c_void_p,
    ]
    lib.GDALClose.restype = ctypes.c_int
    lib.GDALClose.argtypes = [ctypes.c_void_p]
    lib.CPLSetErrorHandler.argtypes = [_ERROR_HANDLER]
    lib.CPLSetErrorHandler.restype = _ERROR_HANDLER
    lib.CPLPushErrorHandler.argtypes = [_ERROR_HANDLER]
    lib.GDALAllRegister()
    return lib


def _loaded_libgdal() -> str:
    """The libgdal file rasterio's extension modules are linked against, never another one."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "libgdal" in path.rsplit("/", 1)[-1] and path.startswith("/"):
                return path
    raise RuntimeError("rasterio is imported but no libgdal is mapped into this process")


def copy(
    source: str,
    destination: Path,
    driver: str,
    options: Mapping[str, str],
    config: Mapping[str, str | int],
    progress: Callable[[float], bool],
    inputs: Sequence[Source],
) -> None:
    """Write `source` with `driver` at `destination`, GDAL's failure mapped to an exit code.

    `progress` receives GDAL's fraction done and returns False to cancel; a failure is blamed
    on the output when GDAL names it or a full disk, else on the one of `inputs` GDAL names.
    """
    try:
        with rasterio.Env(**config):
            _create_copy(source, str(destination), driver, options, progress)
    except CopyError as exc:
        if exc.cancelled:
            raise Cancelled("the conversion was cancelled") from None
        raise copy_failure(exc.most_specific, destination, driver, inputs) from exc
    finally:
        _return_freed_memory()


def _return_freed_memory() -> None:
    """Hand the pages GDAL freed back to the system (glibc's malloc_trim), where there is one.

    Closing the copy's datasets frees its block cache and its worker threads' buffers, but
    glibc keeps freed pages in its per-thread arenas, so the RSS stays at the copy's peak and
    what runs next (validation, quicklook, STAC Item) adds on top of it.
    """
    libc = ctypes.CDLL(None)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _create_copy(
    source: str,
    destination: str,
    driver: str,
    options: Mapping[str, str],
    progress: Callable[[float], bool],
) -> None:
    """Copy `source` (a GDAL path or VRT XML) to `destination`; `progress` returns False to stop.

    Runs under the caller's `rasterio.Env`, whose configuration GDAL reads on this thread.
    One copy at a time per process: the error handler it installs is process-wide.
    """
    lib = _gdal()
    stopped = False

    @_PROGRESS
    def on_progress(fraction: float, _message: bytes | None, _data: int | None) -> int:
        nonlocal stopped
        try:
            keep_going = progress(fraction)
        except Exception:
            keep_going = False
        stopped = stopped or not keep_going
        return 0 if stopped else 1

    encoded = [f"{k}={v}".encode() for k, v in options.items()]
    c_options = (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)
    with _copying:
        _messages.clear()
        _previous[:] = [lib.CPLSetErrorHandler(_collect_and_forward)]
        lib.CPLPushErrorHandler(_collect)
        try:
            src = lib.GDALOpenEx(source.encode(), GA_READONLY_RASTER, None, None, None)
            if not src:
                raise CopyError(list(_messages))
            try:
                handle = lib.GDALGetDriverByName(driver.encode())
                dst = lib.GDALCreateCopy(
                    handle, destination.encode(), src, 0, c_options, on_progress, None
                )
                if not dst:
                    raise CopyError(list(_messages), cancelled=stopped)
                if lib.GDALClose(dst) != 0:
                    raise CopyError(list(_messages))
            finally:
                lib.GDALClose(src)
        finally:
            lib.CPLPopErrorHandler()
            lib.CPLSetErrorHandler(_previous.pop())
