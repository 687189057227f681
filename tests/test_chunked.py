"""The chunked (Dask) path gives the same sites, scores, robustness columns and rasters as the in-memory path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from conftest import SHARED_DATA

from geo.chunked import analyse_chunked, overview_factor
from geo.cli import cli
from geo.cluster import dask_client, run_chunked
from geo.cluster import run as cluster_run
from geo.errors import ConfigError
from geo.grid import Grid
from geo.outputs import EXCLUSIONS_TIF, SCORES_TIF
from geo.pipeline import resolve, run
from geo.sensitivity import sensitivity
from geo.tiles import tile_windows, window_grid

#: Small enough that tiles cut through sites (a site spans about 25 x 25 cells at 250 m).
TILE = 64
#: Weight draws behind the robustness columns of both paths.
DRAWS = 40
#: The robustness columns each path computes (``site_share`` is not measured by re-ranking).
ROBUSTNESS = ("top_n_share", "rank_median", "rank_p05", "rank_p95", "most_sensitive_to", "sweep_rank_shift")


@pytest.fixture(scope="module")
def client():
    """A small in-process cluster shared by the module's tests."""
    with dask_client(workers=1, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def both_paths(demo_store, client, tmp_path_factory: pytest.TempPathFactory):
    """The demo region run in memory and in tiles of 64 cells with robustness draws, each writing its run folder."""
    config, store = resolve(None, demo_store)
    memory = run(config, store, runs_dir=tmp_path_factory.mktemp("memory"), robustness_draws=DRAWS)
    chunked = run_chunked(config, store, client=client, runs_dir=tmp_path_factory.mktemp("chunked"), tile_size=TILE,
                          robustness_draws=DRAWS, documents=True)
    return memory, chunked


def _crossing(labels: np.ndarray, tile: int) -> int:
    """Sites whose cells lie in more than one tile."""
    return sum(len({(r // tile, c // tile) for r, c in zip(*np.nonzero(labels == site), strict=True)}) > 1
               for site in range(1, int(labels.max()) + 1))


def _same_robustness(memory, chunked) -> None:
    """The robustness columns of the two runs agree site by site, and they measure something."""
    a, b = memory.sites.set_index("site_id"), chunked.sites.set_index("site_id")
    assert sorted(a.index) == sorted(b.index)
    b = b.loc[a.index]
    for column in ROBUSTNESS:
        assert a[column].tolist() == b[column].tolist(), column
    assert a["top_n_share"].between(0, 1, inclusive="neither").any(), "some site must be in the top N only sometimes"
    assert (a["rank_p05"] < a["rank_p95"]).any() and (a["sweep_rank_shift"] > 0).any()
    assert a["site_share"].isna().all() and b["site_share"].isna().all()


def _numeric(sites: pd.DataFrame) -> list[str]:
    return [c for c in sites.columns if c != "geometry" and pd.api.types.is_numeric_dtype(sites[c])]


def test_tiles_cut_through_sites(both_paths) -> None:
    memory, _ = both_paths
    assert _crossing(memory.labels, TILE) >= 10, "the test must cut sites across tiles"


def test_same_sites_polygons_areas_and_scores(both_paths) -> None:
    memory, chunked = both_paths
    a, b = memory.sites.set_index("site_id"), chunked.sites.set_index("site_id")
    assert len(a) > 50
    assert sorted(a.index) == sorted(b.index)
    b = b.loc[a.index]
    assert (a["rank"] == b["rank"]).all()
    assert all(x.equals(y) for x, y in zip(a.geometry, b.geometry, strict=True))
    np.testing.assert_array_equal(a["n_cells"], b["n_cells"])
    for column in _numeric(a):
        np.testing.assert_allclose(b[column].astype(float), a[column].astype(float), rtol=1e-3, atol=1e-3,
                                   err_msg=column)
    for column in ("state", "county", "agency", "nearest_town", "caveats", "terrain"):
        assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), column


def test_same_rasters_written_as_cloud_optimized_geotiffs(both_paths) -> None:
    memory, chunked = both_paths
    for name in (EXCLUSIONS_TIF, SCORES_TIF):
        with rasterio.open(memory.output_dir / name) as m, rasterio.open(chunked.output_dir / name) as c:
            np.testing.assert_array_equal(c.read(1), m.read(1))
            assert c.transform == m.transform and c.crs == m.crs and c.nodata == m.nodata
            assert c.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert c.overviews(1), "a COG carries overviews"


def test_run_record_counts_match(both_paths) -> None:
    memory, chunked = both_paths
    mine = json.loads((chunked.output_dir / "run.json").read_text())
    theirs = json.loads((memory.output_dir / "run.json").read_text())
    assert mine["grid"] == theirs["grid"]
    assert mine["exclusions"] == theirs["exclusions"]
    assert mine["states"] == theirs["states"]
    assert mine["engine"]["name"] == "dask" and mine["engine"]["tile_size"] == TILE
    assert mine["engine"]["overview_step"] == 1 and mine["engine"]["scheduler"]
    assert mine["robustness"] == theirs["robustness"]
    assert mine["robustness"]["draws"] == DRAWS and mine["robustness"]["method"] == "rerank"
    assert (chunked.output_dir.parent / "LATEST").read_text() == chunked.output_dir.name


def test_robustness_columns_match_the_in_memory_run(both_paths) -> None:
    _same_robustness(*both_paths)


def test_chunked_sensitivity_reranks_as_in_memory_and_refuses_a_site_search(both_paths) -> None:
    memory, chunked = both_paths
    mine = sensitivity(chunked, draws=10, top_n=5, seed=3, method="rerank")
    theirs = sensitivity(memory, draws=10, top_n=5, seed=3, method="rerank")
    position = {site: i for i, site in enumerate(chunked.sites["site_id"])}
    order = [position[site] for site in memory.sites["site_id"]]
    np.testing.assert_array_equal(mine.draw_ranks[:, order], theirs.draw_ranks)
    left_out = [r.leave_one_out.sort_values(["criterion", "site_id"], ignore_index=True) for r in (mine, theirs)]
    pd.testing.assert_frame_equal(*left_out)
    with pytest.raises(ValueError, match="in-memory path"):
        sensitivity(chunked, draws=2, method="search")


def test_robustness_of_a_weighted_product_matches(demo_store, client) -> None:
    """Tiles of 192 cells still cut sites; the chunked path keeps the sites' cells for a weighted product."""
    config, store = resolve(None, demo_store)
    assert config.aggregation.method == "weighted_sum"  # the case of both_paths
    product = config.aggregation.model_copy(update={"method": "weighted_product"})
    config = config.model_copy(update={"aggregation": product})
    memory = run(config, store, runs_dir=None, robustness_draws=DRAWS)
    chunked = run_chunked(config, store, client=client, runs_dir=None, tile_size=192, robustness_draws=DRAWS)
    assert _crossing(memory.labels, 192) >= 5
    assert chunked.record.robustness == memory.record.robustness
    _same_robustness(memory, chunked)


def test_a_chunked_run_without_draws_keeps_nothing_to_rerank(demo_store, client, tmp_path: Path) -> None:
    config, store = resolve(None, demo_store)
    result = run_chunked(config, store, client=client, runs_dir=None, tile_size=100_000)
    assert result.reranker is None and not set(ROBUSTNESS) & set(result.sites.columns)
    assert result.record.robustness is not None and result.record.robustness.draws == 0
    with pytest.raises(ValueError, match="robustness draws"):
        sensitivity(result, draws=2, method="rerank")


def test_the_chunked_run_folder_holds_the_map_and_report(both_paths) -> None:
    _, chunked = both_paths
    names = {p.name for p in chunked.output_dir.iterdir()}
    assert {"map.html", "report.html", "report.md", "sites.parquet", "run.json"} <= names
    assert [p.name for p in chunked.output_dir.parent.iterdir() if p.name.startswith(".")] == [], "no staging left"


def test_the_memory_engine_is_recorded(demo_store) -> None:
    result = cluster_run(None, demo_store, engine="memory", runs_dir=None)
    assert result.record.engine is not None and result.record.engine.name == "memory"
    assert "forced" in result.record.engine.choice and result.record.engine.tile_size is None


def test_one_tile_when_the_tile_is_larger_than_the_grid(demo_store, client, tmp_path: Path) -> None:
    config, store = resolve(None, demo_store)
    grid = Grid.covering((0, 0, 1000, 1000), 250)
    assert tile_windows(grid, 10_000) == [[(slice(0, 4), slice(0, 4))]]
    result = analyse_chunked(config, store, tmp_path, tile_size=100_000)
    memory = run(config, store, runs_dir=None)
    assert sorted(result.sites["site_id"]) == sorted(memory.sites["site_id"])


@pytest.mark.parametrize("size", [0, -5, 2.5, True])
def test_bad_tile_sizes_are_rejected(demo_store, tmp_path: Path, size) -> None:
    config, store = resolve(None, demo_store)
    with pytest.raises(ConfigError, match="tile size"):
        analyse_chunked(config, store, tmp_path, tile_size=size)


@pytest.mark.parametrize("size", ["0", "-3"])
def test_cli_rejects_bad_tile_sizes(demo_store, size) -> None:
    result = CliRunner().invoke(cli, ["rank", "--store", str(demo_store.root), "--engine", "dask",
                                      "--tile-size", size])
    assert result.exit_code == 2
    assert "--tile-size" in result.output


def test_window_grid_keeps_the_cells_of_the_grid() -> None:
    grid = Grid.covering((0, 0, 10_000, 8_000), 250)
    sub, inner = window_grid(grid, (slice(10, 20), slice(30, 40)), 5)
    assert sub.shape == (20, 15) and inner == (slice(5, 15), slice(5, 15))  # clipped at the east edge
    assert sub.transform.c == grid.transform.c + 25 * 250 and sub.transform.f == grid.transform.f - 5 * 250


def test_overview_is_the_grid_when_small() -> None:
    assert overview_factor(Grid.covering((0, 0, 1e5, 1e5), 250)) == 1
    assert overview_factor(Grid(Grid.covering((0, 0, 1, 1), 30).transform, 40_000, 36_000)) == 8


@pytest.mark.shared_data
def test_real_files_at_250_m_agree(shared_data, client, tmp_path_factory: pytest.TempPathFactory) -> None:
    """On the real files at 250 m, tiles of 512 cells give the in-memory sites and scores."""
    root = tmp_path_factory.mktemp("real")
    refreshed = CliRunner().invoke(cli, ["refresh", "--from", str(SHARED_DATA / "raw"), "--store",
                                         str(root / "store"), "-q"])
    assert refreshed.exit_code == 0, refreshed.output
    config, store = resolve(None, root / "store")
    memory = run(config, store, runs_dir=None)
    chunked = run_chunked(config, store, client=client, runs_dir=None, tile_size=512)
    a, b = memory.sites.set_index("site_id"), chunked.sites.set_index("site_id")
    assert len(a) > 20 and sorted(a.index) == sorted(b.index)
    b = b.loc[a.index]
    assert all(x.equals(y) for x, y in zip(a.geometry, b.geometry, strict=True))
    for column in ("score", "area_acres", *[c for c in a.columns if c.endswith("_score")]):
        np.testing.assert_allclose(b[column].astype(float), a[column].astype(float), rtol=1e-3, atol=1e-3,
                                   err_msg=column)
