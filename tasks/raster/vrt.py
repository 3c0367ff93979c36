"""The pieces of GDAL VRT XML that every VRT a task writes spells the same way.

Stacked inputs (tasks.raster.stack) and mosaics (tasks.export.mosaic) are both handed to GDAL
as VRTs; one spelling of data types, numbers and the dataset header keeps the two alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from affine import Affine
    from rasterio.crs import CRS

# numpy's names (rasterio's dtypes) to GDAL's, as a VRT's dataType attribute wants them.
GDAL_TYPES: Mapping[str, str] = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}


def number(value: float) -> str:
    """Python's repr round-trips a float exactly; GDAL reads NaN only as `nan`."""
    return "nan" if math.isnan(value) else repr(value)


def nodata(value: float | None) -> str:
    return "" if value is None else f"<NoDataValue>{number(value)}</NoDataValue>"


def dataset(width: int, height: int, crs: CRS, transform: Affine, content: str) -> str:
    """A georeferenced VRTDataset around `content` (its metadata and bands)."""
    geotransform = ",".join(repr(v) for v in transform.to_gdal())
    return (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>{escape(crs.to_wkt())}</SRS><GeoTransform>{geotransform}</GeoTransform>"
        f"{content}</VRTDataset>"
    )
