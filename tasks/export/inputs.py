"""The export's sources opened once: what planning needs of each, and what the output is.

The first source decides the output's bands, data type and colours; every source must have
the bands exported. Each source is opened, read for its facts and closed again: the mosaic
VRT reopens them when GDAL streams it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime import InputError, UsageError
from tasks.export.mosaic import Output, colors
from tasks.raster.grid import Raster
from tasks.raster.sources import Source, open_raster

if TYPE_CHECKING:
    from rasterio.io import DatasetReader


def open_sources(
    sources: list[Source], bands: list[int] | None, nodata: float | None
) -> tuple[list[Raster], Output]:
    """Every source's facts and the output; 65 naming a source that can't take part.

    `bands` and `nodata` are the user's choices (None: all bands but alpha, and the first
    nodata value a source declares).
    """
    rasters: list[Raster] = []
    exported: list[int] = []
    dtype, colours = "", []
    for source in sources:
        with open_raster(source) as dataset:
            raster = _raster(source, dataset)
            if not rasters:
                exported = bands or [i for i in dataset.indexes if i != raster.alpha]
            if max(exported) > dataset.count:
                raise InputError(
                    f"{source.uri!r} has {dataset.count} band(s), but band {max(exported)} is "
                    "exported (--bands, or the first source's bands); choose --bands that "
                    "every source has"
                )
            if not rasters:
                dtype, colours = dataset.dtypes[exported[0] - 1], colors(dataset, exported)
            rasters.append(raster)
    if nodata is None:
        nodata = next((r.nodata for r in rasters if r.nodata is not None), None)
    _check_nodata(nodata, dtype)
    return rasters, Output(exported, dtype, nodata, colours)


def _raster(source: Source, dataset: DatasetReader) -> Raster:
    from rasterio.enums import ColorInterp, MaskFlags

    alpha = next(
        (i for i in dataset.indexes if dataset.colorinterp[i - 1] == ColorInterp.alpha), None
    )
    return Raster(
        uri=source.uri,
        gdal_path=source.gdal_path,
        crs=dataset.crs,
        transform=dataset.transform,
        width=dataset.width,
        height=dataset.height,
        count=dataset.count,
        dtype=dataset.dtypes[0],
        nodata=dataset.nodata,
        masked=MaskFlags.per_dataset in dataset.mask_flag_enums[0],
        alpha=alpha,
    )


def _check_nodata(nodata: float | None, dtype: str) -> None:
    import numpy as np

    if nodata is None or dtype.startswith(("float", "complex")):
        return
    info = np.iinfo(dtype)
    if not (float(nodata).is_integer() and info.min <= nodata <= info.max):
        raise UsageError(
            f"--nodata {nodata:g} can't be stored in the output's data type {dtype} "
            f"(integers {info.min}..{info.max}); choose a value in that range"
        )
