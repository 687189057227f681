"""A tile's distances are exact on its eligible cells, however narrow the halo its coarse surface suggests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import geo.tiles as tiles
from geo.analysis import prepare
from geo.chunked import tile_inputs
from geo.config import load_config
from geo.pipeline import resolve
from geo.tiles import compute_tile, halo_cells, reach_halo, tile_windows

#: Tiles of 48 cells (12 km at 250 m): the demo's distances reach far beyond them.
TILE = 48


@pytest.fixture(scope="module")
def demo(demo_store):
    """The demo region in memory and its tile inputs."""
    config, store = resolve(None, demo_store)
    memory = prepare(config, store)
    inputs, _ = tile_inputs(config, store)
    return memory, inputs


def _assert_tiles_match_memory(memory, inputs) -> list[np.ndarray]:
    """Every tile's raw values equal the in-memory ones on eligible cells and are NaN elsewhere.

    Returns each tile's eligible cells.
    """
    eligible_cells = []
    for tile in (t for row in tile_windows(inputs.grid, TILE) for t in row):
        out = compute_tile(inputs, tile)
        eligible = out["bits"] == 0
        eligible_cells.append(eligible)
        for criterion in inputs.criteria:
            mine = out[f"raw/{criterion.name}"]
            theirs = np.full(inputs.grid.shape, np.nan, dtype=mine.dtype)  # in memory: on eligible cells only
            theirs.ravel()[memory.eligible] = memory.raw[criterion.name]
            theirs = theirs[tile]
            np.testing.assert_array_equal(mine[eligible], theirs[eligible], err_msg=criterion.name)
            assert np.isnan(mine[~eligible]).all(), criterion.name
    return eligible_cells


def test_tile_distances_equal_the_whole_grid_on_eligible_cells_with_narrow_halos(demo) -> None:
    memory, inputs = demo
    eligible_cells = _assert_tiles_match_memory(memory, inputs)
    distance = [c for c in inputs.criteria if c.measure == "distance"]
    assert distance, "the demo has distance criteria"
    windows = [t for row in tile_windows(inputs.grid, TILE) for t in row]
    narrower = sum(reach_halo(inputs.reach[c.name], tile, eligible, inputs.grid.resolution)
                   < halo_cells(c, inputs.grid.resolution)
                   for tile, eligible in zip(windows, eligible_cells, strict=True) for c in distance)
    assert narrower > len(windows), "most tiles of the demo need less than the cap"


def test_a_surface_that_underestimates_is_caught(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every coarse distance set to zero the halos are far too narrow; the check widens them."""
    memory, inputs = demo
    blind = dataclasses.replace(inputs)
    blind.reach = {name: (np.zeros_like(surface), factor) for name, (surface, factor) in inputs.reach.items()}
    halos: list[int] = []
    measure = tiles._criterion_on_window

    def spy(criterion, inputs, tile, halo, eligible=None):
        halos.append(halo)
        return measure(criterion, inputs, tile, halo, eligible)

    monkeypatch.setattr(tiles, "_criterion_on_window", spy)
    _assert_tiles_match_memory(memory, blind)
    caps = {halo_cells(c, inputs.grid.resolution) for c in inputs.criteria if c.measure == "distance"}
    assert caps & set(halos), "some tile fell back to the cap"


def test_reach_halo_bounds_the_nearest_feature() -> None:
    surface = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float16)  # km, cells of 4 grid cells of 250 m
    eligible = np.zeros((8, 8), dtype=bool)
    assert reach_halo((surface, 4), (slice(0, 8), slice(0, 8)), eligible, 250.0) == 0
    eligible[5, 1] = True  # under the coarse cell at 2 km
    halo = reach_halo((surface, 4), (slice(0, 8), slice(0, 8)), eligible, 250.0)
    assert halo == int(np.ceil((2.0 + np.sqrt(2) * 1.0) * 4)) + 1


def test_reach_surfaces_do_not_depend_on_the_order_of_the_criteria(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    _, inputs = demo
    assert inputs.reach, "the demo has distance criteria"
    people = np.zeros((3, 3), dtype=np.float32)
    labour_grid = inputs.grid.coarsened(40)  # the labour pool's own working grid, coarser than the reach grid
    monkeypatch.setattr(tiles, "coarse_labour_pool", lambda *args, **kwargs: (people, labour_grid, []))
    labour = next(c for c in load_config().criteria if c.measure == "people_within")
    reordered = dataclasses.replace(inputs, criteria=[labour, *inputs.criteria], labour={}, reach={},
                                    layers={**inputs.layers, "county_stats": inputs.layers["states"]})
    assert reordered.labour[labour.name] == (people, labour_grid)
    for name, (surface, factor) in inputs.reach.items():
        assert surface.shape == inputs.grid.coarsened(factor).shape
        np.testing.assert_array_equal(reordered.reach[name][0], surface, err_msg=name)
