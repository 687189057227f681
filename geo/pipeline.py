"""A run from end to end: choose the store, prepare the analysis, rank the sites, record and write the run.

The steps, each callable on its own:

1. :func:`resolve` picks the configuration and the layer store (the synthetic demo
   region when the store holds no layers);
2. :func:`geo.analysis.prepare` puts the layers on the grid, once;
3. :func:`rank` scores the cells and finds and describes the sites;
4. :func:`build_record` writes down everything needed to reproduce and judge the run;
5. :func:`geo.runs.write_run` writes the run folder (with the map and report when
   asked) and only then makes it the latest run.
"""

from __future__ import annotations

import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import __version__
from geo.analysis import Analysis, StepCallback, prepare
from geo.config import Config, load_config
from geo.demo import build_demo_store
from geo.placescores import score_places_from_layers
from geo.pointquery import PointScorer
from geo.query import read_places
from geo.runmodel import EngineInfo, RunRecord, RunResult
from geo.runs import DEFAULT_RUNS, DocumentWriter, write_run
from geo.sensitivity import METHODS as ROBUSTNESS_METHODS
from geo.sensitivity import add_robustness
from geo.sitetable import rank
from geo.statesummary import state_summary
from geo.store import DEFAULT_STORE, LayerStore, resolve_store

log = logging.getLogger(__name__)

DEMO_STORE = Path("data/demo")


def open_store(path: str | Path | None = None, *, demo_dir: str | Path = DEMO_STORE) -> tuple[LayerStore, bool]:
    """The layer store at ``path``; with no ``path``, the default store, or the demo region while it is empty.

    The demo store is generated on first use by :mod:`geo.demo`. A store asked for by
    ``path`` that does not exist or holds no layers is an error (:func:`geo.store.resolve_store`).

    Parameters
    ----------
    path
        The store (default ``data/store``).
    demo_dir
        Where the demo region is kept.

    Returns
    -------
    tuple[LayerStore, bool]
        The store and whether it is the synthetic demo.
    """
    store = resolve_store(path)
    if store is not None:
        return store, is_synthetic(store)
    demo = LayerStore(demo_dir)
    if not demo.has("states") or not is_synthetic(demo):
        build_demo_store(demo_dir)
    log.warning("the store at %s holds no layers: using the SYNTHETIC demo region in %s", DEFAULT_STORE, demo.root)
    return demo, True


def is_synthetic(store: LayerStore) -> bool:
    """Whether a store holds layers and all of them are synthetic (the demo region or a fixture).

    Parameters
    ----------
    store
        The layer store.

    Returns
    -------
    bool
        True when the store has layers and every one is synthetic.
    """
    records = store.provenances()
    return bool(records) and all(p.synthetic for p in records.values())


def resolve(config: Config | None, store: LayerStore | str | Path | None) -> tuple[Config, LayerStore]:
    """The configuration and store a run uses; on the demo region the states narrow to the demo's.

    Parameters
    ----------
    config
        The configuration (default: :func:`geo.config.load_config`'s defaults).
    store
        A store, or the path of one (see :func:`open_store`).

    Returns
    -------
    tuple[Config, LayerStore]
        The configuration to run and the store to read.
    """
    config = config or load_config()
    if isinstance(store, LayerStore):
        layer_store, demo = store, is_synthetic(store)
    else:
        layer_store, demo = open_store(store)
    if demo:
        demo_states = sorted(set(layer_store.read("states")["state"]))
        config = config.model_copy(update={"states": [s for s in config.states if s in demo_states] or demo_states})
    return config, layer_store


def run_id_for(started: datetime, name: str) -> str:
    """The id (and folder name) of a run: its UTC start time, then the configuration's name.

    Parameters
    ----------
    started
        When the run started (UTC).
    name
        The configuration's name.

    Returns
    -------
    str
        E.g. ``20250101T120000Z-default``.
    """
    return f"{started:%Y%m%dT%H%M%SZ}-{name}"


def build_record(analysis: Analysis, sites: gpd.GeoDataFrame, run_id: str, started: datetime,
                 store: LayerStore, *, states: dict[str, dict[str, Any]] | None = None,
                 robustness: dict[str, Any] | None = None, engine: EngineInfo | None = None) -> RunRecord:
    """Everything needed to reproduce and judge a ranking.

    Parameters
    ----------
    analysis
        The prepared analysis.
    sites
        Its ranked site table.
    run_id
        The run's id (see :func:`run_id_for`).
    started
        When the run started (UTC).
    store
        The layer store the run read.
    states
        The per-state summary (see :func:`geo.statesummary.state_summary`), when made.
    robustness
        The weight draws behind the robustness columns, when any were asked for.
    engine
        How the run was computed, when an engine was chosen (:mod:`geo.cluster`).

    Returns
    -------
    RunRecord
        The record.
    """
    grid = analysis.grid
    cell_km2 = grid.resolution**2 / 1e6
    return RunRecord(
        run_id=run_id, package="geo-siting", version=__version__, python=platform.python_version(),
        started_at=started, finished_at=datetime.now(UTC), store=str(store.root), synthetic=analysis.synthetic,
        caveats={name: p.caveat for name, p in analysis.provenance.items() if p.caveat},
        config=analysis.config, weights=analysis.weights,
        criteria={c.name: {"unit": c.unit, "description": c.description, "layers": c.layers}
                  for c in analysis.criteria},
        skipped=analysis.skipped, terrain=analysis.terrain, warnings=analysis.warnings,
        grid={"crs": grid.crs, "resolution_m": grid.resolution, "width": grid.width, "height": grid.height,
              "transform": list(grid.transform)[:6]},
        exclusions={
            "causes": analysis.exclusions.causes,
            "descriptions": analysis.exclusions.descriptions,
            "area_km2": {k: round(v * cell_km2, 1) for k, v in analysis.exclusions.cell_counts().items()},
            "eligible_km2": round(len(analysis.eligible) * cell_km2, 1),
        },
        sites={"count": int(len(sites)), "total_acres": float(sites["area_acres"].sum()) if len(sites) else 0.0},
        layers=analysis.provenance, timings_s=analysis.timings, states=states or {}, robustness=robustness,
        engine=engine,
    )


def run(
    config: Config | None = None,
    store: LayerStore | str | Path | None = None,
    *,
    runs_dir: str | Path | None = DEFAULT_RUNS,
    robustness_draws: int = 0,
    workers: int = 1,
    documents: bool = False,
    engine: EngineInfo | None = None,
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

    Parameters
    ----------
    config, store
        What to run and on which layers (see :func:`resolve`).
    runs_dir
        Where the run folder is written (None: nothing is written).
    robustness_draws
        Weight draws behind the robustness columns (0: none).
    workers
        Processes that share the draws.
    documents
        Also write the interactive map (``map.html``) and the report into the run folder
        before it becomes the latest run.
    engine
        How the run was chosen to be computed, for the record (see :func:`geo.cluster.run`).
    on_step
        Called with the name of each step as it starts.

    Returns
    -------
    RunResult
        The analysis, site table and record; ``output_dir`` is the run folder when written.

    Raises
    ------
    WriteError
        The run folder could not be written; the previous latest run stays the latest.
    """
    started = datetime.now(UTC)
    config, layer_store = resolve(config, store)
    analysis = prepare(config, layer_store, on_step=on_step)
    _step(on_step, "sites")
    start = time.perf_counter()
    sites, labels, cell_scores = rank(analysis)
    analysis.timings["sites"] = round(time.perf_counter() - start, 3)
    run_id = run_id_for(started, config.name)
    result = RunResult(analysis, sites, labels, cell_scores, build_record(analysis, sites, run_id, started,
                                                                          layer_store))
    if robustness_draws:
        _step(on_step, "robustness")
        start = time.perf_counter()
        result.sites = add_robustness(result, draws=robustness_draws, workers=workers, seed=0, method="rerank")
        analysis.timings["robustness"] = round(time.perf_counter() - start, 3)
    # the final record, once robustness and the state summary are known (its end time and timings include them)
    result.record = build_record(analysis, result.sites, run_id, started, layer_store,
                                 states=state_summary(analysis, result.sites, labels),
                                 robustness=robustness_settings(config, robustness_draws), engine=engine)
    if runs_dir is not None:
        _step(on_step, "write outputs")
        result.output_dir = write_run(Path(runs_dir), result, documents=run_documents() if documents else (),
                                      on_step=on_step)
    return result


def robustness_settings(config: Config, draws: int) -> dict[str, Any]:
    """The run record's ``robustness``: the draws of :func:`run` behind the robustness columns.

    Parameters
    ----------
    config
        The run's configuration (its ``sites.top_n``).
    draws
        Weight draws (0: the columns were not made).

    Returns
    -------
    dict[str, Any]
        ``draws``, ``seed`` (0), ``top_n``, and the ``rerank`` method and its text.
    """
    return {"draws": draws, "seed": 0, "top_n": config.sites.top_n, "method": "rerank",
            "method_text": ROBUSTNESS_METHODS["rerank"]}


def run_documents() -> tuple[DocumentWriter, ...]:
    """The map and the report, each written into a run folder before it becomes the latest.

    Returns
    -------
    tuple[DocumentWriter, ...]
        The writers :func:`geo.runs.write_run` takes as ``documents``.
    """
    from geo.maps import write_map
    from geo.report import write_report
    from geo.runs import MAP_HTML

    return (("map", lambda result, folder: write_map(result, folder / MAP_HTML)),
            ("report", lambda result, folder: write_report(result, folder)))


def _step(on_step: StepCallback | None, name: str) -> None:
    if on_step:
        on_step(name)


def score_points(places: gpd.GeoDataFrame | str | Path, config: Config | None = None,
                 store: LayerStore | str | Path | None = None) -> pd.DataFrame:
    """Score points or polygons with the same analysis as the sites, from the layers directly.

    Parameters
    ----------
    places
        A GeoDataFrame, or the path of a CSV (lon/lat) or GeoJSON file.
    config, store
        What to run and on which layers (see :func:`resolve`).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`geo.placescores.score_places_from_layers`: each place's
        ``status`` (scored, excluded or outside), and a score only where it is scored.
    """
    frame = places if isinstance(places, gpd.GeoDataFrame) else read_places(places)
    config, layer_store = resolve(config, store)
    return score_places_from_layers(PointScorer.load(config, layer_store), frame)


__all__ = ["DEFAULT_STORE", "DEMO_STORE", "build_record", "is_synthetic", "open_store", "rank", "resolve",
           "robustness_settings", "run", "run_documents", "run_id_for", "score_points"]
