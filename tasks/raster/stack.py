"""Several inputs on one grid as one dataset: a VRT whose bands point at the sources' bands.

GDAL streams a VRT block by block, so stacking costs no memory; the VRT is XML handed to
GDAL as the dataset name, never a file. The same VRT carries a `nodata` the user declares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from runtime import InputError
from tasks.raster import vrt
from tasks.raster.grid import Grid

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

    from tasks.raster.sources import Source

RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Stack:
    """The stacked output: the grid every input shares, and its bands' count, type and nodata."""

    grid: Grid
    count: int
    dtype: str
    nodata: float | None


def stack_of(inputs: list[tuple[Source, DatasetReader]], nodata: float | None) -> Stack:
    """The inputs stacked in order; 65 naming the first input that does not fit the first."""
    first_source, first = inputs[0]
    for source, dataset in inputs[1:]:
        problem = _mismatch(first, dataset)
        if problem:
            raise InputError(
                f"{source.uri!r} can't be stacked with {first_source.uri!r}: {problem}; "
                "stacked inputs must share size, transform, CRS and data type "
                "(warp them onto one grid first)"
            )
    declared = {d.nodata for _, d in inputs if d.nodata is not None}
    if nodata is None and len(declared) > 1:
        raise InputError(
            "the inputs declare different nodata values "
            f"({', '.join(f'{s.uri!r}: {d.nodata}' for s, d in inputs)}); "
            "pass --nodata to choose the output's"
        )
    return Stack(
        grid=Grid(first.crs, first.transform, first.width, first.height),
        count=sum(d.count for _, d in inputs),
        dtype=first.dtypes[0],
        nodata=nodata if nodata is not None else next(iter(declared), None),
    )


def needs_vrt(inputs: list[tuple[Source, DatasetReader]], stack: Stack) -> bool:
    """A single input whose nodata is already the output's is converted as it is."""
    dataset = inputs[0][1]
    return len(inputs) > 1 or not _same_nodata(dataset.nodata, stack.nodata)


def vrt_xml(inputs: list[tuple[Source, DatasetReader]], stack: Stack) -> str:
    bands: list[str] = []
    for source, dataset in inputs:
        for index in dataset.indexes:
            bands.append(_band(len(bands) + 1, source, dataset, index, stack))
    grid = stack.grid
    return vrt.dataset(grid.width, grid.height, grid.crs, grid.transform, "".join(bands))


def _band(number: int, source: Source, dataset: DatasetReader, index: int, stack: Stack) -> str:
    grid = stack.grid
    block_height, block_width = dataset.block_shapes[index - 1]
    gdal_type = vrt.GDAL_TYPES[stack.dtype]
    nodata = vrt.nodata(stack.nodata)
    color = dataset.colorinterp[index - 1].name.capitalize()
    description = dataset.descriptions[index - 1]
    described = f"<Description>{escape(description)}</Description>" if description else ""
    rect = f'xOff="0" yOff="0" xSize="{grid.width}" ySize="{grid.height}"'
    return (
        f'<VRTRasterBand dataType="{gdal_type}" band="{number}">{described}{nodata}'
        f"<ColorInterp>{color}</ColorInterp><SimpleSource>"
        f'<SourceFilename relativeToVRT="0">{escape(source.gdal_path)}</SourceFilename>'
        f"<SourceBand>{index}</SourceBand>"
        f'<SourceProperties RasterXSize="{grid.width}" RasterYSize="{grid.height}" '
        f'DataType={quoteattr(gdal_type)} BlockXSize="{block_width}" '
        f'BlockYSize="{block_height}"/>'
        f"<SrcRect {rect}/><DstRect {rect}/></SimpleSource></VRTRasterBand>"
    )


def _mismatch(a: DatasetReader, b: DatasetReader) -> str | None:
    if (a.width, a.height) != (b.width, b.height):
        return f"its size is {b.width}x{b.height}, not {a.width}x{a.height}"
    if not a.transform.almost_equals(b.transform, precision=abs(a.transform.a) * 1e-6):
        return f"its geotransform is {tuple(b.transform)[:6]}, not {tuple(a.transform)[:6]}"
    if a.crs != b.crs:
        return f"its CRS is {b.crs}, not {a.crs}"
    if set(b.dtypes) != {a.dtypes[0]} or len(set(a.dtypes)) > 1:
        return f"its data type is {b.dtypes[0]}, not {a.dtypes[0]}"
    return None


def _same_nodata(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b
