"""The Python API: the same operations as the ``geo`` command line.

>>> import geo.api as api
>>> result = api.run(api.load_config(preset="chip_fab"))   # doctest: +SKIP
>>> result.sites[["rank", "site_id", "score"]].head()       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

import geo
from geo.analysis import Analysis, StepCallback, prepare
from geo.config import Config, load_config
from geo.demo import build_demo_store
from geo.query import read_places, score_places
from geo.sensitivity import METHODS as ROBUSTNESS_METHODS, add_robustness
from geo.outputs import write_run, write_sites_file as write_sites
from geo.statesummary import state_summary
from geo.sites import describe_sites
from geo.store import LayerStore

log = logging.getLogger(__name__)

__all__ = [
    "RunResult", "load_config", "open_store", "prepare", "rank", "resolve", "run", "score_points", "write_sites",
]

DEFAULT_STORE = Path("data/store")
DEMO_STORE = Path("data/demo")
DEFAULT_RUNS = Path("data/runs")


@dataclass
class RunResult:
    """A ranked site table together with the analysis behind it and its run record."""

    analysis: Analysis
    sites: gpd.GeoDataFrame
    labels: np.ndarray
    cell_scores: np.ndarray
    record: dict[str, Any]
    output_dir: Path | None = None

    @property
    def synthetic(self) -> bool:
        return self.analysis.synthetic

    @property
    def score_grid(self) -> np.ndarray:
        """The cell scores on the full grid (float32, NaN where excluded), built on demand."""
        return self.analysis.score_grid(self.cell_scores)


def open_store(path: str | Path | None = None, *, demo_dir: str | Path = DEMO_STORE) -> tuple[LayerStore, bool]:
    """The layer store at ``path``, or the demo region when that store holds no layers.

    Returns the store and whether it is the synthetic demo. The demo store is
    generated on first use by :mod:`geo.demo`.
    """
    store = LayerStore(path or DEFAULT_STORE)
    if store.layers():
        return store, is_synthetic(store)
    demo = LayerStore(demo_dir)
    if not demo.has("states") or not is_synthetic(demo):
        build_demo_store(demo_dir)
    log.warning("the store at %s holds no layers: using the SYNTHETIC demo region in %s", store.root, demo.root)
    return demo, True


def is_synthetic(store: LayerStore) -> bool:
    """Whether a store holds layers and all of them are synthetic (the demo region or a fixture)."""
    records = store.provenances()
    return bool(records) and all(p.synthetic for p in records.values())


def resolve(config: Config | None, store: LayerStore | str | Path | None) -> tuple[Config, LayerStore]:
    """The configuration and store a run uses; on the demo region the states narrow to the demo's."""
    config = config or load_config()
    if isinstance(store, LayerStore):
        layer_store, demo = store, is_synthetic(store)
    else:
        layer_store, demo = open_store(store)
    if demo:
        demo_states = sorted(set(layer_store.read("states")["state"]))
        config = config.model_copy(update={"states": [s for s in config.states if s in demo_states] or demo_states})
    return config, layer_store


def rank(analysis: Analysis, weights: dict[str, float] | None = None,
         method: str | None = None) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Score cells, find and describe sites.

    Returns the site table, the site labels on the grid, and the scores of the
    eligible cells (aligned with ``analysis.eligible``).
    """
    cell_scores = analysis.cell_scores(weights, method)
    labels = analysis.site_labels(cell_scores)
    sites = describe_sites(analysis, labels, cell_scores)
    return sites, labels, cell_scores


def run(
    config: Config | None = None,
    store: LayerStore | str | Path | None = None,
    *,
    runs_dir: str | Path | None = DEFAULT_RUNS,
    robustness_draws: int = 0,
    workers: int = 1,
    on_step: StepCallback | None = None,
) -> RunResult:
    """Rank candidate sites and (unless ``runs_dir`` is None) write every output of the run.

    With no store, or an empty one, the synthetic demo region is used and the
    configuration's states are narrowed to the demo's. With ``robustness_draws``, the
    site table gains the robustness columns of :func:`geo.sensitivity.add_robustness`
    (share of weight draws in the top N, median rank and rank interval, most sensitive
    criterion) from that many Dirichlet draws around the configured weights, by the fast
    ``rerank`` method (the run's sites re-ranked from their cells' sub-scores; the run
    record names it).
    """
    started = datetime.now(UTC)
    config, layer_store = resolve(config, store)
    analysis = prepare(config, layer_store, on_step=on_step)
    if on_step:
        on_step("sites")
    start = time.perf_counter()
    sites, labels, cell_scores = rank(analysis)
    analysis.timings["sites"] = round(time.perf_counter() - start, 3)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{config.name}"
    result = RunResult(analysis, sites, labels, cell_scores, {})
    if robustness_draws:
        if on_step:
            on_step("robustness")
        start = time.perf_counter()
        result.sites = add_robustness(result, draws=robustness_draws, workers=workers, seed=0, method="rerank")
        analysis.timings["robustness"] = round(time.perf_counter() - start, 3)
    result.record = run_record(analysis, result.sites, run_id, started, layer_store)
    result.record["states"] = state_summary(analysis, result.sites, labels)
    result.record["robustness"] = {"draws": robustness_draws, "seed": 0, "top_n": config.sites.top_n,
                                   "method": "rerank", "method_text": ROBUSTNESS_METHODS["rerank"]}
    if runs_dir is not None:
        if on_step:
            on_step("write outputs")
        result.output_dir = write_run(Path(runs_dir), run_id, result.sites, result.record, analysis.grid,
                                      analysis.exclusions.bits, analysis.eligible, cell_scores)
    return result


def run_record(analysis: Analysis, sites: gpd.GeoDataFrame, run_id: str, started: datetime,
               store: LayerStore) -> dict[str, Any]:
    """Everything needed to reproduce and judge a run, as a JSON-ready dict."""
    grid = analysis.grid
    cell_km2 = grid.resolution**2 / 1e6
    caveats = {name: p.caveat for name, p in analysis.provenance.items() if p.caveat}
    return {
        "run_id": run_id,
        "package": "geo-siting",
        "version": geo.__version__,
        "python": platform.python_version(),
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "store": str(store.root),
        "synthetic": analysis.synthetic,
        "caveats": caveats,
        "config": analysis.config.model_dump(mode="json"),
        "weights": analysis.weights,
        "criteria": {c.name: {"unit": c.unit, "description": c.description, "layers": c.layers}
                     for c in analysis.criteria},
        "skipped": analysis.skipped,
        "terrain": analysis.terrain,
        "warnings": analysis.warnings,
        "grid": {"crs": grid.crs, "resolution_m": grid.resolution, "width": grid.width, "height": grid.height,
                 "transform": list(grid.transform)[:6]},
        "exclusions": {
            "causes": analysis.exclusions.causes,
            "descriptions": analysis.exclusions.descriptions,
            "area_km2": {k: round(v * cell_km2, 1) for k, v in analysis.exclusions.cell_counts().items()},
            "eligible_km2": round(len(analysis.eligible) * cell_km2, 1),
        },
        "sites": {"count": int(len(sites)), "total_acres": float(sites["area_acres"].sum()) if len(sites) else 0.0},
        "layers": {name: p.model_dump(mode="json") for name, p in analysis.provenance.items()},
        "timings_s": analysis.timings,
    }


def score_points(places: gpd.GeoDataFrame | str | Path, config: Config | None = None,
                 store: LayerStore | str | Path | None = None) -> pd.DataFrame:
    """Score points or polygons (a GeoDataFrame or a CSV/GeoJSON path) with the same analysis as the sites."""
    frame = places if isinstance(places, gpd.GeoDataFrame) else read_places(places)
    config, layer_store = resolve(config, store)
    return score_places(prepare(config, layer_store), frame)
