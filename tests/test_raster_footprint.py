"""The STAC footprint on its own: the polygon of the valid pixels, simplified to within one
mask pixel, specks dropped, holes left out, read from at most 512 pixels a side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from rasterio.io import DatasetReader, MemoryFile
from rasterio.transform import from_origin

from tasks.raster.footprint import (
    MAX_SIZE,
    bbox_of,
    douglas_peucker,
    reduced_shape,
    simplify_ring,
    valid_polygon,
)

# 0.01 degree pixels from (10 E, 50 N): pixel (col, row) spans 10 + col/100 .. 10 + (col+1)/100.
ORIGIN = from_origin(10.0, 50.0, 0.01, 0.01)


@contextmanager
def dataset(valid: np.ndarray) -> Iterator[DatasetReader]:
    """A one-band EPSG:4326 raster: 1 where `valid`, nodata 0 elsewhere."""
    height, width = valid.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": ORIGIN,
        "nodata": 0,
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as dst:
            dst.write(valid.astype("uint8")[np.newaxis])
        with memory.open() as src:
            yield src


def test_a_block_of_valid_pixels_is_one_rectangle_at_its_pixel_edges() -> None:
    valid = np.zeros((100, 100), bool)
    valid[30:70, 20:80] = True
    with dataset(valid) as src:
        geometry = valid_polygon(src)
    assert geometry is not None and geometry["type"] == "Polygon"
    ring = geometry["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    corners = sorted(map(tuple, ring[:-1]))
    assert np.allclose(corners, [(10.2, 49.3), (10.2, 49.7), (10.8, 49.3), (10.8, 49.7)])
    assert bbox_of(geometry) == pytest.approx([10.2, 49.3, 10.8, 49.7])


def test_a_staircase_edge_is_simplified_to_within_one_pixel() -> None:
    # A triangle of valid pixels below the diagonal: its traced outline has a vertex at every
    # step of the staircase (about 400), its footprint only the triangle's corners.
    valid = np.tril(np.ones((200, 200), bool))
    with dataset(valid) as src:
        geometry = valid_polygon(src)
    assert geometry is not None and geometry["type"] == "Polygon"
    ring = np.array(geometry["coordinates"][0])
    assert len(ring) <= 6
    assert bbox_of(geometry) == pytest.approx([10.0, 48.0, 12.0, 50.0])
    # Every vertex lies within one pixel (0.01 degree) of the true triangle's edges.
    above_diagonal = (ring[:, 1] - 50.0) + (ring[:, 0] - 10.0)
    assert np.all(above_diagonal <= 0.01 + 1e-9)


def test_specks_are_dropped_and_a_second_real_region_is_kept() -> None:
    valid = np.zeros((100, 100), bool)
    valid[10:50, 10:50] = True  # 1,600 pixels
    valid[60:90, 60:90] = True  # 900 pixels: a region of its own
    valid[95, 5] = True  # 1 pixel, under 0.5% of the valid area
    with dataset(valid) as src:
        geometry = valid_polygon(src)
    assert geometry is not None and geometry["type"] == "MultiPolygon"
    boxes = sorted(bbox_of({"type": "Polygon", "coordinates": p}) for p in geometry["coordinates"])
    assert boxes == [
        pytest.approx([10.1, 49.5, 10.5, 49.9]),
        pytest.approx([10.6, 49.1, 10.9, 49.4]),
    ]


def test_holes_are_left_out_of_the_footprint() -> None:
    valid = np.ones((100, 100), bool)
    valid[40:60, 40:60] = False
    with dataset(valid) as src:
        geometry = valid_polygon(src)
    assert geometry is not None
    assert len(geometry["coordinates"]) == 1, "one ring: the outline, no hole"


def test_no_valid_pixel_means_no_footprint() -> None:
    with dataset(np.zeros((50, 50), bool)) as src:
        assert valid_polygon(src) is None


def test_the_mask_is_read_at_most_max_size_pixels_a_side() -> None:
    assert MAX_SIZE == 512
    assert reduced_shape(1024, 4096, MAX_SIZE) == (128, 512)
    assert reduced_shape(300, 200, MAX_SIZE) == (300, 200)
    assert reduced_shape(100_000, 3, MAX_SIZE) == (512, 1)


def test_douglas_peucker_keeps_what_strays_more_than_the_tolerance() -> None:
    line = np.array([[0.0, 0.0], [1.0, 0.4], [2.0, 0.0], [3.0, 2.0], [4.0, 0.0]])
    assert douglas_peucker(line, 1.2).tolist() == [[0.0, 0.0], [3.0, 2.0], [4.0, 0.0]]
    assert len(douglas_peucker(line, 0.1)) == 5


def test_simplify_keeps_a_closed_ring_closed() -> None:
    square = np.array(
        [[0, 0], [1, 0], [2, 0], [2, 1], [2, 2], [1, 2], [0, 2], [0, 1], [0, 0]], float
    )
    simplified = simplify_ring(square, 0.5)
    assert simplified.tolist() == [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]
