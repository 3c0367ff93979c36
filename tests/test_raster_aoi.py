"""`--aoi` parsing on its own: each spelling gives the polygons the user meant, and each
mistake is an input error (65) that says what to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime import InputError
from tasks.export.aoi import bounds, parse, reproject

SQUARE = [[[10.0, 50.0], [11.0, 50.0], [11.0, 51.0], [10.0, 51.0], [10.0, 50.0]]]
HOLED = [
    [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]],
    [[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 1.0]],
]
POLYGON = {"type": "Polygon", "coordinates": SQUARE}
MULTI = {"type": "MultiPolygon", "coordinates": [SQUARE, HOLED]}


def feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": "x"}, "geometry": geometry}


@pytest.mark.parametrize(
    ("document", "polygons"),
    [
        (POLYGON, [SQUARE]),
        (MULTI, [SQUARE, HOLED]),
        (feature(POLYGON), [SQUARE]),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    feature(POLYGON),
                    feature({"type": "Point", "coordinates": [3.0, 3.0]}),
                    feature(MULTI),
                ],
            },
            [SQUARE, SQUARE, HOLED],
        ),
    ],
    ids=["Polygon", "MultiPolygon", "Feature", "FeatureCollection"],
)
def test_inline_geojson_gives_every_polygon_in_degrees(
    document: dict[str, Any], polygons: list[Any]
) -> None:
    aoi = parse("  " + json.dumps(document))
    assert aoi.polygons == polygons
    assert aoi.crs == "EPSG:4326"
    assert aoi.label == "the inline --aoi GeoJSON"
    assert aoi.geometry == {"type": "MultiPolygon", "coordinates": polygons}


def test_a_bbox_in_degrees_becomes_a_closed_ring() -> None:
    aoi = parse(" 10 , 50.5,11.25 ,51e0 ")
    assert aoi.polygons == [
        [[[10.0, 50.5], [11.25, 50.5], [11.25, 51.0], [10.0, 51.0], [10.0, 50.5]]]
    ]
    assert aoi.crs == "EPSG:4326"
    assert bounds(aoi.geometry) == (10.0, 50.5, 11.25, 51.0)


def test_a_geojson_file_keeps_its_named_crs(tmp_path: Path) -> None:
    path = tmp_path / "area.geojson"
    document = {
        **feature({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]}),
        "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
    }
    path.write_text(json.dumps(document))
    aoi = parse(str(path))
    assert aoi.polygons == [[[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 0.0]]]]
    assert aoi.crs == "EPSG:3857"
    assert str(path) in aoi.label
    assert parse(path.as_uri()).polygons == aoi.polygons


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,2,3", "is not a bounding box: give exactly four numbers"),
        ("11,50,10,51", "is empty or inverted"),
        ("10,50,200,51", "is outside -180..180, -90..90"),
        ("{not json", "is not valid JSON"),
        ('{"type": "Point", "coordinates": [1, 2]}', "holds no Polygon or MultiPolygon"),
        ('{"type": "Circle", "radius": 3}', 'has "type": "Circle", which is not GeoJSON'),
        ('{"type": "Feature", "properties": {}}', 'every Feature needs a "geometry" object'),
        ('{"type": "FeatureCollection"}', 'a FeatureCollection needs a "features" array'),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}',
            "a Polygon ring is not closed (it starts at [0.0, 0.0] and ends at [0.0, 1.0])",
        ),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}', "at least 4 positions"),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]}',
            '["a", 0] is not a position [x, y]',
        ),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]], '
            '"crs": {"type": "name", "properties": {"name": "EPSG:999999"}}}',
            "its CRS 'EPSG:999999' is not known",
        ),
    ],
)
def test_a_bad_aoi_is_65_and_says_what_to_fix(text: str, words: str) -> None:
    with pytest.raises(InputError) as raised:
        parse(text)
    assert raised.value.exit_code == 65
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}', "holds no Polygon"),
        ("[1, 2]", "is not a GeoJSON object"),
    ],
)
def test_a_bad_aoi_file_is_65_and_names_the_file(content: str, words: str, tmp_path: Path) -> None:
    path = tmp_path / "area.geojson"
    path.write_text(content)
    with pytest.raises(InputError) as raised:
        parse(str(path))
    assert raised.value.exit_code == 65
    assert f"the --aoi file {str(path)!r} {words}" in str(raised.value)


def test_reprojection_densifies_edges_so_a_box_in_degrees_keeps_its_curve() -> None:
    aoi = parse("-76,35,-74,36.5")
    utm = reproject(aoi, "EPSG:32618")
    ring = utm["coordinates"][0][0]
    assert len(ring) == 4 * 16 + 1
    south = bounds(utm)[1]
    # In UTM the parallel at 35 degrees sags between the corners: the middle of the south
    # edge (vertex 8 of 16) lies south of both corners, and only densifying finds it.
    assert south == ring[8][1] < min(ring[0][1], ring[16][1])


@pytest.mark.parametrize(
    "crs", ["+proj=geos +h=35785831 +lon_0=-75 +sweep=x", "+proj=ortho +lat_0=0 +lon_0=0"]
)
def test_an_aoi_beyond_a_crs_s_area_is_65(crs: str) -> None:
    with pytest.raises(InputError) as raised:
        reproject(parse("100,10,120,20"), crs)
    assert raised.value.exit_code == 65
    assert "reaches outside the area where" in str(raised.value)
