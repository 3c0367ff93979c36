"""The footprint of a raster's valid pixels in EPSG:4326, from a cheap low-resolution mask.

The mask is read at most `MAX_SIZE` pixels on a side, from the COG's overviews, so the
footprint costs a few hundred kilobytes of reading whatever the raster's size. A footprint
says where the data is, not where each nodata pixel is: holes and specks smaller than
`MIN_SHARE` of the valid area are left out and the pixel staircase is simplified to within
one mask pixel, which keeps an Item of a speckled hillshade at a few kilobytes. Projections
that do not cover the whole grid (a geostationary full disk has corners in space) keep only
the pixels that have a place on Earth.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

MAX_SIZE = 512
MIN_SHARE = 0.005
PRECISION = 7
WGS84 = "EPSG:4326"


def valid_polygon(dataset: DatasetReader) -> dict[str, Any] | None:
    """A GeoJSON (Multi)Polygon of the valid pixels, or None when no pixel is valid."""
    from rasterio.transform import Affine

    height, width = reduced_shape(dataset.height, dataset.width, MAX_SIZE)
    valid = dataset.dataset_mask(out_shape=(height, width)) > 0
    transform = dataset.transform @ Affine.scale(dataset.width / width, dataset.height / height)
    geometry = _outline(valid, transform)
    if geometry is None:
        return None
    projected = _to_wgs84(dataset.crs, geometry)
    if projected is not None:
        return projected
    geometry = _outline(valid & _on_earth(dataset.crs, transform, height, width), transform)
    return None if geometry is None else _to_wgs84_pointwise(dataset.crs, geometry)


def bbox_of(geometry: dict[str, Any]) -> list[float]:
    points = np.array([p for polygon in _polygon_list(geometry) for ring in polygon for p in ring])
    return [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]


def reduced_shape(height: int, width: int, max_size: int) -> tuple[int, int]:
    scale = max(height, width) / max_size
    if scale <= 1:
        return height, width
    return max(1, round(height / scale)), max(1, round(width / scale))


def _outline(valid: np.ndarray, transform: Any) -> dict[str, Any] | None:
    """Simplified outer rings of the valid regions, in the raster's CRS."""
    from rasterio.features import shapes

    rings = [
        np.array(geometry["coordinates"][0])
        for geometry, _ in shapes(valid.astype("uint8"), mask=valid, transform=transform)
    ]
    areas = [_area(ring) for ring in rings]
    smallest = sum(areas) * MIN_SHARE
    tolerance = abs(transform.a)
    polygons = [
        [simplified.tolist()]
        for ring, area in zip(rings, areas, strict=True)
        if area >= smallest and len(simplified := simplify_ring(ring, tolerance)) >= 4
    ]
    if not polygons:
        return None
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2


def simplify_ring(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on a closed ring, split at the vertex farthest from its start."""
    far = int(np.argmax(np.hypot(*(ring - ring[0]).T)))
    if far == 0:
        return ring
    head, tail = (
        douglas_peucker(ring[: far + 1], tolerance),
        douglas_peucker(ring[far:], tolerance),
    )
    return np.vstack([head[:-1], tail])


def douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    pending = [(0, len(points) - 1)]
    while pending:
        first, last = pending.pop()
        if last - first < 2:
            continue
        dx, dy = points[last] - points[first]
        offsets = points[first + 1 : last] - points[first]
        length = math.hypot(dx, dy)
        cross = np.abs(dx * offsets[:, 1] - dy * offsets[:, 0])
        distances = cross / length if length else np.hypot(*offsets.T)
        worst = int(np.argmax(distances))
        if distances[worst] > tolerance:
            middle = first + 1 + worst
            keep[middle] = True
            pending += [(first, middle), (middle, last)]
    return points[keep]


def _to_wgs84(crs: Any, geometry: dict[str, Any]) -> dict[str, Any] | None:
    from rasterio.warp import transform_geom

    try:
        result = transform_geom(
            crs, WGS84, geometry, antimeridian_cutting=True, precision=PRECISION
        )
    except Exception:  # GDAL's own error types, not RasterioError, when a vertex is off Earth
        return None
    points = [p for polygon in _polygon_list(result) for ring in polygon for p in ring]
    return dict(result) if np.isfinite(np.array(points)).all() else None


def _to_wgs84_pointwise(crs: Any, geometry: dict[str, Any]) -> dict[str, Any] | None:
    """Transform vertex by vertex, dropping the few boundary vertices that fall off the Earth."""
    from rasterio.warp import transform

    polygons = []
    for polygon in _polygon_list(geometry):
        rings = []
        for ring in polygon:
            xs, ys = zip(*ring, strict=True)
            lons, lats = transform(crs, WGS84, list(xs), list(ys))
            kept = [
                (round(x, PRECISION), round(y, PRECISION))
                for x, y in zip(lons, lats, strict=True)
                if math.isfinite(x) and math.isfinite(y)
            ]
            if len(kept) >= 3:
                rings.append([*kept, kept[0]] if kept[0] != kept[-1] else kept)
        if rings:
            polygons.append(rings)
    if not polygons:
        return None
    return {"type": "MultiPolygon", "coordinates": polygons}


def _on_earth(crs: Any, transform: Any, height: int, width: int) -> np.ndarray:
    from rasterio.warp import transform as transform_points

    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    xs, ys = transform * (cols.ravel(), rows.ravel())
    lons, lats = transform_points(crs, WGS84, xs.tolist(), ys.tolist())
    finite = np.isfinite(np.asarray(lons)) & np.isfinite(np.asarray(lats))
    return finite.reshape(height, width)


def _polygon_list(geometry: dict[str, Any]) -> list[Any]:
    coordinates = geometry["coordinates"]
    return [coordinates] if geometry["type"] == "Polygon" else list(coordinates)
