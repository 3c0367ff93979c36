"""The mosaic as a GDAL VRT: every source placed on the output grid, the AOI laid on top.

GDAL reads a VRT block by block, so one streamed copy of it produces the output in bounded
memory whatever the mosaic's size. Sources whose pixels coincide with the output grid are read
directly (no resampling: tiles of one scene reproduce it exactly); the others are wrapped in a
warped VRT (rasterio's WarpedVRT, serialised to scratch) covering only their part of the grid.

Where sources overlap, the first one listed wins: the VRT draws its sources in order and each
overwrites only where it is valid, so they are drawn last to first. A source's nodata value,
its mask or its alpha band decides where it is valid. Pixels no source covers, and pixels
outside the AOI, get the output's nodata value, or 0 in an added alpha band when the output
has no nodata value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from tasks.raster import vrt
from tasks.raster.grid import Grid, Raster, bounds_in

if TYPE_CHECKING:
    from rasterio.io import DatasetReader


@dataclass(frozen=True)
class Layer:
    """One source as the mosaic reads it: a dataset lying on a window of the output grid."""

    path: str
    col: int
    row: int
    width: int
    height: int
    nodata: float | None
    masked: bool
    warped: bool


@dataclass(frozen=True)
class Output:
    """What the mosaic produces: which source bands, as what type, with what nodata."""

    bands: list[int]
    dtype: str
    nodata: float | None
    colors: list[str]

    @property
    def alpha(self) -> bool:
        """An alpha band marks valid pixels when there is no nodata value to do it."""
        return self.nodata is None

    @property
    def count(self) -> int:
        return len(self.bands) + (1 if self.alpha else 0)


def place(
    raster: Raster,
    grid: Grid,
    resampling: str,
    vrt_path: Path,
    warp_options: dict[str, str],
) -> Layer | None:
    """How `raster` lies on the grid: directly when its pixels coincide, else through a warp."""
    offset = grid.offset_of(raster)
    if offset is not None:
        return Layer(
            raster.gdal_path,
            offset[0],
            offset[1],
            raster.width,
            raster.height,
            raster.nodata,
            raster.masked or raster.alpha is not None,
            warped=False,
        )
    window = grid.window(bounds_in(raster, grid.crs))
    if window is None:
        return None
    return _warped(raster, grid, window, resampling, vrt_path, warp_options)


def _warped(
    raster: Raster,
    grid: Grid,
    window: tuple[int, int, int, int],
    resampling: str,
    vrt_path: Path,
    warp_options: dict[str, str],
) -> Layer:
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    from rasterio.windows import Window, transform

    col, row, width, height = window
    with (
        rasterio.open(raster.gdal_path) as src,
        WarpedVRT(
            src,
            crs=grid.crs,
            transform=transform(Window(col, row, width, height), grid.transform),
            width=width,
            height=height,
            resampling=Resampling[resampling],
            add_alpha=raster.nodata is None and raster.alpha is None,
            **warp_options,
        ) as vrt,
    ):
        rasterio.shutil.copy(vrt, str(vrt_path), driver="VRT")
        nodata = vrt.nodata
    return Layer(str(vrt_path), col, row, width, height, nodata, nodata is None, warped=True)


def vrt_xml(
    grid: Grid,
    layers: list[Layer],
    output: Output,
    cutline: Path | None,
    metadata: dict[str, str],
) -> str:
    """The mosaic VRT; `layers` in the user's order (the first wins where they overlap)."""
    gdal_type = vrt.GDAL_TYPES[output.dtype]
    bands = [
        _band(
            number,
            gdal_type,
            output.colors[number - 1],
            output.nodata,
            [_data_source(layer, index, grid) for layer in reversed(layers)],
            _cutline_source(cutline, grid, output.nodata or 0.0),
        )
        for number, index in enumerate(output.bands, start=1)
    ]
    if output.alpha:
        opaque = _alpha_max(output.dtype)
        bands.append(
            _band(
                len(bands) + 1,
                gdal_type,
                "Alpha",
                None,
                [_alpha_source(layer, output.bands[0], opaque) for layer in reversed(layers)],
                _cutline_source(cutline, grid, 0.0),
            )
        )
    items = "".join(f'<MDI key="{escape(k)}">{escape(v)}</MDI>' for k, v in metadata.items())
    content = f"<Metadata>{items}</Metadata>{''.join(bands)}"
    return vrt.dataset(grid.width, grid.height, grid.crs, grid.transform, content)


def _band(
    number: int,
    gdal_type: str,
    color: str,
    nodata: float | None,
    sources: list[str],
    cutline: str,
) -> str:
    return (
        f'<VRTRasterBand dataType="{gdal_type}" band="{number}">{vrt.nodata(nodata)}'
        f"<ColorInterp>{color}</ColorInterp>{''.join(sources)}{cutline}</VRTRasterBand>"
    )


def _data_source(layer: Layer, band: int, grid: Grid) -> str:
    if layer.nodata is not None:
        validity = f"<NODATA>{vrt.number(layer.nodata)}</NODATA>"
    elif layer.masked:
        validity = "<UseMaskBand>true</UseMaskBand>"
    else:
        return f"<SimpleSource>{_where(layer, str(band))}</SimpleSource>"
    return f"<ComplexSource>{_where(layer, str(band))}{validity}</ComplexSource>"


def _alpha_source(layer: Layer, band: int, opaque: float) -> str:
    """Opaque wherever the source's mask is not 0; where it is 0, what is below shows."""
    return (
        f"<ComplexSource>{_where(layer, f'mask,{band}')}<ScaleOffset>{vrt.number(opaque)}"
        "</ScaleOffset><ScaleRatio>0</ScaleRatio><NODATA>0</NODATA></ComplexSource>"
    )


def _cutline_source(cutline: Path | None, grid: Grid, outside: float) -> str:
    """The AOI raster on top: where it is 0 (outside), every band gets `outside`."""
    if cutline is None:
        return ""
    rect = f'xOff="0" yOff="0" xSize="{grid.width}" ySize="{grid.height}"'
    return (
        f'<ComplexSource><SourceFilename relativeToVRT="0">{escape(str(cutline))}'
        f"</SourceFilename><SourceBand>1</SourceBand><SrcRect {rect}/><DstRect {rect}/>"
        f"<ScaleOffset>{vrt.number(outside)}</ScaleOffset><ScaleRatio>0</ScaleRatio>"
        "<NODATA>1</NODATA></ComplexSource>"
    )


def _where(layer: Layer, band: str) -> str:
    size = f'xSize="{layer.width}" ySize="{layer.height}"'
    return (
        f'<SourceFilename relativeToVRT="0">{escape(layer.path)}</SourceFilename>'
        f'<SourceBand>{band}</SourceBand><SrcRect xOff="0" yOff="0" {size}/>'
        f'<DstRect xOff="{layer.col}" yOff="{layer.row}" {size}/>'
    )


def _alpha_max(dtype: str) -> float:
    import numpy as np

    return float(np.iinfo(dtype).max) if dtype.startswith(("int", "uint")) else 1.0


def colors(dataset: DatasetReader, bands: list[int]) -> list[str]:
    return [dataset.colorinterp[b - 1].name.capitalize() for b in bands]
