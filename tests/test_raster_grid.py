"""Grid snapping and mosaic planning, on their own: until now a mistake here showed only as
an export whose pixels were off by one row or resampled."""

from __future__ import annotations

import pytest
from affine import Affine
from rasterio.crs import CRS

from runtime import InputError
from tasks.export.plan import plan
from tasks.raster.grid import Grid, Raster, bounds_in, snap

UTM = CRS.from_epsg(32618)
WGS84 = CRS.from_epsg(4326)


def raster(left: float, top: float, width: int, height: int, res: float = 10.0) -> Raster:
    return Raster(
        uri=f"tile-{left}-{top}.tif",
        gdal_path=f"/data/tile-{left}-{top}.tif",
        crs=UTM,
        transform=Affine(res, 0.0, left, 0.0, -res, top),
        width=width,
        height=height,
        count=3,
        dtype="uint8",
        nodata=0.0,
        masked=False,
        alpha=None,
    )


def test_snap_widens_the_extent_to_whole_pixels_on_the_anchor_lines() -> None:
    grid = snap((3.0, 7.0, 27.0, 33.0), (10.0, 10.0), (0.0, 0.0), UTM)
    assert grid.transform == Affine(10.0, 0.0, 0.0, 0.0, -10.0, 40.0)
    assert (grid.width, grid.height) == (3, 4)
    assert grid.bounds == (0.0, 0.0, 30.0, 40.0)


def test_snap_follows_an_anchor_off_the_origin() -> None:
    grid = snap(
        (101990.0, 2826000.0, 102600.0, 2826900.0), (300.0, 300.0), (101985.0, 2826915.0), UTM
    )
    assert grid.transform.c == 101985.0  # the anchor's own column
    assert grid.transform.f == 2826915.0
    assert (grid.width, grid.height) == (3, 4)


@pytest.mark.parametrize("noise", [1e-9, -1e-9])
def test_float_noise_in_an_edge_neither_adds_nor_loses_a_pixel(noise: float) -> None:
    grid = snap((0.0 + noise, 0.0 - noise, 30.0 + noise, 40.0 - noise), (10.0, 10.0), (0, 0), UTM)
    assert grid.transform == Affine(10.0, 0.0, 0.0, 0.0, -10.0, 40.0)
    assert (grid.width, grid.height) == (3, 4)


def test_an_extent_thinner_than_a_pixel_still_gets_one() -> None:
    grid = snap((12.0, 12.0, 12.0, 12.0), (10.0, 10.0), (0.0, 0.0), UTM)
    assert (grid.width, grid.height) == (1, 1)


def test_window_covers_the_bounds_and_is_clipped_to_the_grid() -> None:
    grid = Grid(UTM, Affine(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 10, 10)
    assert grid.window((15.0, 45.0, 35.0, 85.0)) == (1, 1, 3, 5)
    assert grid.window((-50.0, -50.0, 25.0, 1000.0)) == (0, 0, 3, 10)
    assert grid.window((200.0, 0.0, 300.0, 100.0)) is None


def test_offset_of_a_raster_whose_pixels_coincide() -> None:
    grid = Grid(UTM, Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0), 100, 80)
    assert grid.offset_of(raster(1020.0, 4970.0, 5, 5)) == (2, 3)
    assert grid.offset_of(raster(1020.0 + 1e-7, 4970.0, 5, 5)) == (2, 3)


@pytest.mark.parametrize(
    "other",
    [
        raster(1025.0, 4970.0, 5, 5),  # half a pixel off
        raster(1020.0, 4970.0, 5, 5, res=20.0),  # another resolution
    ],
)
def test_offset_of_a_raster_that_needs_resampling_is_none(other: Raster) -> None:
    grid = Grid(UTM, Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0), 100, 80)
    assert grid.offset_of(other) is None


def test_tiles_of_one_scene_plan_back_into_the_scene_grid() -> None:
    # A 100 x 80 scene at (1000, 5000) cut into four tiles whose origins are not multiples of 10.
    tiles = [
        raster(1003.0 + 500 * col, 5007.0 - 400 * row, 50, 40) for row in (0, 1) for col in (0, 1)
    ]
    grid, used = plan(tiles, UTM, None, None, "")
    assert grid.transform == Affine(10.0, 0.0, 1003.0, 0.0, -10.0, 5007.0)
    assert (grid.width, grid.height) == (100, 80)
    assert used == tiles


def test_a_resolution_no_source_has_snaps_to_its_multiples() -> None:
    grid, _ = plan([raster(1003.0, 5007.0, 50, 40)], UTM, 20.0, None, "")
    assert grid.transform == Affine(20.0, 0.0, 1000.0, 0.0, -20.0, 5020.0)
    assert (grid.width, grid.height) == (26, 21)


def test_an_aoi_crops_the_grid_and_drops_sources_outside_it() -> None:
    west, east = raster(0.0, 1000.0, 50, 100), raster(1000.0, 1000.0, 50, 100)
    grid, used = plan([west, east], UTM, None, (105.0, 200.0, 395.0, 800.0), "the AOI")
    assert grid.bounds == (100.0, 200.0, 400.0, 800.0)
    assert used == [west]


def test_an_aoi_outside_every_source_is_an_input_error_65() -> None:
    with pytest.raises(InputError) as raised:
        plan([raster(0.0, 1000.0, 50, 100)], UTM, None, (5000.0, 0.0, 6000.0, 100.0), "the AOI")
    assert raised.value.exit_code == 65
    assert "the AOI does not overlap any source" in str(raised.value)
    assert "(5000, 0, 6000, 100)" in str(raised.value)


def test_bounds_in_another_crs_reach_the_bulge_of_a_curved_edge() -> None:
    # 100 km of UTM 18N centred on its central meridian: in degrees the top edge bows north,
    # so its middle (36.1447) lies north of both top corners (36.1434).
    scene = raster(450000.0, 4000000.0, 1000, 1000, res=100.0)
    west, south, east, north = bounds_in(scene, WGS84)
    assert (west, south, east) == pytest.approx((-75.5558, 35.2418, -74.4442), abs=1e-4)
    assert north == pytest.approx(36.1447, abs=1e-4)
    assert bounds_in(scene, UTM) == scene.bounds
