"""The STAC Item that describes a published COG, built with pystac from the COG itself.

Everything is read from the COG's header and overviews (projection, a low-resolution mask
for the footprint, rio-stac's statistics at most 1024 pixels on a side), so the Item costs
the same for a 50 MB and a 50 GB raster. The Item also carries the job's fingerprint: it is
written last, and a retry that finds it with the same fingerprint has nothing left to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.uris import local_path
from tasks.raster.completion import ITEM_PROPERTY
from tasks.raster.footprint import bbox_of, valid_polygon

if TYPE_CHECKING:
    import pystac
    from rasterio.io import DatasetReader

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
STATS_MAX_SIZE = 1024
SOURCES = "batch_task:sources"
OPTIONS = "batch_task:options"


def build_item(
    dataset: DatasetReader,
    *,
    item_id: str,
    cog_href: str,
    thumbnail_href: str,
    size: int,
    fingerprint: str,
    sources: list[str],
    options: Mapping[str, Any],
) -> pystac.Item:
    import pystac
    from pystac.extensions.file import FileExtension
    from pystac.extensions.projection import ProjectionExtension
    from pystac.extensions.raster import RasterBand, RasterExtension
    from rio_stac.stac import get_raster_info

    geometry = valid_polygon(dataset)
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=None if geometry is None else bbox_of(geometry),
        datetime=_acquired(dataset) or dt.datetime.now(dt.UTC),
        properties={
            "created": _now(),
            ITEM_PROPERTY: fingerprint,
            SOURCES: sources,
            OPTIONS: dict(options),
        },
    )
    projection = ProjectionExtension.ext(item, add_if_missing=True)
    epsg = dataset.crs.to_epsg()
    if epsg is not None:
        projection.epsg = epsg
    else:
        projection.wkt2 = dataset.crs.to_wkt()
    projection.shape = [dataset.height, dataset.width]
    projection.transform = list(dataset.transform)[:6]
    projection.bbox = list(dataset.bounds)

    data = pystac.Asset(href=cog_href, media_type=COG_MEDIA_TYPE, roles=["data"])
    item.add_asset("data", data)
    RasterExtension.ext(data, add_if_missing=True).bands = [
        RasterBand(band) for band in get_raster_info(dataset, max_size=STATS_MAX_SIZE)
    ]
    FileExtension.ext(data, add_if_missing=True).size = size
    item.add_asset(
        "thumbnail",
        pystac.Asset(href=thumbnail_href, media_type=pystac.MediaType.PNG, roles=["thumbnail"]),
    )
    return item


def asset_href(uri: str) -> str:
    """How the Item, published beside its assets, refers to the asset published at `uri`.

    A STAC client resolves a relative href from the Item's own location, so a local asset is
    `./name`: right wherever the files are read from, whatever directory the task ran in (a
    relative destination such as `out/scene.tif` written as is would resolve to
    `out/out/scene.tif`). An s3:// URI is absolute and stays as it is.
    """
    path = local_path(uri)
    return uri if path is None else f"./{path.name}"


def summary(item: Mapping[str, Any]) -> dict[str, Any]:
    """The task's result fields, read back from an Item (for a retry that skips the work)."""
    properties = item["properties"]
    data = item["assets"]["data"]
    height, width = properties["proj:shape"]
    return {
        "width": width,
        "height": height,
        "count": len(data.get("raster:bands", [])),
        "crs": properties.get("proj:code") or properties.get("proj:wkt2"),
        "bounds": properties["proj:bbox"],
        "bytes": data.get("file:size"),
    }


def _acquired(dataset: DatasetReader) -> dt.datetime | None:
    stamp = dataset.tags().get("TIFFTAG_DATETIME")
    try:
        return dt.datetime.strptime(stamp or "", "%Y:%m:%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
