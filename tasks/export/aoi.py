"""The area of interest as users give it, turned into one (multi)polygon with its CRS.

Three spellings are accepted, told apart without guessing: inline GeoJSON starts with `{`,
four comma-separated numbers are a bounding box in degrees, anything else names a GeoJSON
file. Every rejection is an input error (65) that says what was wrong and how to fix it.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from runtime import InputError
from runtime.documents import read_text

WGS84 = "EPSG:4326"
_NUMBER = r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*"
_BBOX = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")
# Edges are split before reprojection so that a box in degrees keeps its curved outline in a
# projected CRS; beyond this many vertices the outline is already detailed enough.
DENSIFY_PIECES = 16
DENSIFY_MAX_VERTICES = 20_000
_SHOWN = 80

Polygon = list[list[list[float]]]


@dataclass(frozen=True)
class Aoi:
    """A MultiPolygon in `crs`, and how the user gave it (for messages)."""

    polygons: list[Polygon]
    crs: str
    label: str

    @property
    def geometry(self) -> dict[str, Any]:
        return {"type": "MultiPolygon", "coordinates": self.polygons}


def parse(text: str) -> Aoi:
    """Read `--aoi` in any of its three spellings."""
    value = text.strip()
    if value.startswith("{"):
        return from_geojson(value, "the inline --aoi GeoJSON")
    if _BBOX.match(value):
        return _bbox(value)
    if "," in value and not any(c in value for c in "/\\"):
        raise InputError(
            f"--aoi {_short(value)!r} is not a bounding box: give exactly four numbers "
            "minx,miny,maxx,maxy in degrees (EPSG:4326), inline GeoJSON, or a GeoJSON file"
        )
    return from_geojson(read_text(value, "--aoi file"), f"the --aoi file {value!r}")


def from_geojson(text: str, label: str) -> Aoi:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(
            f"{label} is not valid JSON ({exc}); give a GeoJSON geometry, Feature or "
            "FeatureCollection"
        ) from None
    if not isinstance(document, dict):
        raise InputError(
            f"{label} is not a GeoJSON object; give a geometry, Feature or FeatureCollection"
        )
    polygons = _polygons(document, label)
    if not polygons:
        raise InputError(
            f"{label} holds no Polygon or MultiPolygon; an AOI needs an area "
            "(points and lines have none)"
        )
    return Aoi(polygons, _crs(document, label), label)


def _bbox(value: str) -> Aoi:
    minx, miny, maxx, maxy = (float(v) for v in value.split(","))
    label = f"the --aoi bounding box {value!r}"
    if not (minx < maxx and miny < maxy):
        raise InputError(
            f"{label} is empty or inverted: the order is minx,miny,maxx,maxy (west, south, "
            "east, north) with minx < maxx and miny < maxy"
        )
    if min(minx, -maxx) < -180 or min(miny, -maxy) < -90:
        raise InputError(
            f"{label} is outside -180..180, -90..90: a bounding box is in degrees "
            '(EPSG:4326); for other CRSs give GeoJSON with a "crs" member'
        )
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return Aoi([[ring]], WGS84, label)


def _polygons(document: dict[str, Any], label: str) -> list[Polygon]:
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise InputError(f'{label}: a FeatureCollection needs a "features" array')
        return [p for feature in features for p in _polygons(_feature(feature, label), label)]
    if kind == "Feature":
        return _polygons(_feature(document, label), label)
    if kind == "GeometryCollection":
        members = document.get("geometries")
        if not isinstance(members, list):
            raise InputError(f'{label}: a GeometryCollection needs a "geometries" array')
        return [p for g in members if isinstance(g, dict) for p in _polygons(g, label)]
    coordinates = document.get("coordinates")
    if kind == "Polygon":
        return [_polygon(coordinates, label)]
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list):
            raise InputError(f'{label}: a MultiPolygon\'s "coordinates" must be an array')
        return [_polygon(c, label) for c in coordinates]
    if kind in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        return []
    raise InputError(
        f'{label} has "type": {json.dumps(kind)}, which is not GeoJSON; use Polygon, '
        "MultiPolygon, Feature or FeatureCollection"
    )


def _feature(feature: Any, label: str) -> dict[str, Any]:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geometry, dict):
        raise InputError(f'{label}: every Feature needs a "geometry" object')
    return geometry


def _polygon(rings: Any, label: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise InputError(f'{label}: a Polygon\'s "coordinates" must be a non-empty array of rings')
    polygon: Polygon = []
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4:
            raise InputError(
                f"{label}: a Polygon ring needs at least 4 positions (the last equal to the first)"
            )
        points = [_position(p, label) for p in ring]
        if points[0] != points[-1]:
            raise InputError(
                f"{label}: a Polygon ring is not closed (it starts at {points[0]} and ends at "
                f"{points[-1]}); repeat the first position at the end"
            )
        polygon.append(points)
    return polygon


def _position(position: Any, label: str) -> list[float]:
    valid = (
        isinstance(position, list)
        and len(position) >= 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
        and all(math.isfinite(v) for v in position[:2])
    )
    if not valid:
        raise InputError(f"{label}: {_short(json.dumps(position))} is not a position [x, y]")
    return [float(position[0]), float(position[1])]


def _crs(document: dict[str, Any], label: str) -> str:
    """The 2008 GeoJSON `crs` member, still written by QGIS and ogr2ogr; else EPSG:4326."""
    member = document.get("crs")
    if member is None:
        return WGS84
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise InputError(
            f'{label}: its "crs" member must look like '
            '{"type": "name", "properties": {"name": "EPSG:3857"}}'
        )
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        CRS.from_user_input(name)
    except CRSError as exc:
        raise InputError(f"{label}: its CRS {name!r} is not known ({exc})") from None
    return name


def reproject(aoi: Aoi, crs: Any) -> dict[str, Any]:
    """The AOI as a GeoJSON MultiPolygon in `crs`, edges densified first.

    A vertex with no place in `crs` (beyond a geostationary disk or an orthographic
    hemisphere) makes GDAL raise its own error types, not RasterioError, or return
    infinities: both are the AOI's fault (65), not a crash.
    """
    from rasterio.warp import transform_geom

    geometry = {"type": "MultiPolygon", "coordinates": _densified(aoi.polygons)}
    try:
        result = transform_geom(aoi.crs, crs, geometry)
    except Exception as exc:
        result, reason = None, f" ({exc})"
    else:
        reason = ""
    flat = (
        [v for polygon in result["coordinates"] for ring in polygon for p in ring for v in p]
        if result
        else []
    )
    if result is None or not flat or not all(math.isfinite(v) for v in flat):
        raise InputError(
            f"{aoi.label} reaches outside the area where {crs} is defined{reason}; give an "
            "AOI within the sources' area"
        )
    return result


def bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    xs = [p[0] for polygon in geometry["coordinates"] for ring in polygon for p in ring]
    ys = [p[1] for polygon in geometry["coordinates"] for ring in polygon for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _densified(polygons: list[Polygon]) -> list[Polygon]:
    if sum(len(ring) for polygon in polygons for ring in polygon) > DENSIFY_MAX_VERTICES:
        return polygons
    return [[_densify(ring) for ring in polygon] for polygon in polygons]


def _densify(ring: list[list[float]]) -> list[list[float]]:
    points: list[list[float]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        for step in range(DENSIFY_PIECES):
            t = step / DENSIFY_PIECES
            points.append([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t])
    points.append(ring[-1])
    return points


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
