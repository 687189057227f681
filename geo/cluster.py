"""Which engine runs an analysis, and the Dask cluster behind the chunked one.

``auto`` estimates the in-memory analysis's peak memory (:func:`geo.grid.analysis_memory_bytes`)
before any work starts and keeps the in-memory path while the estimate is at most
:data:`MEMORY_SHARE` of the memory available; beyond that it runs the chunked path
(:mod:`geo.chunked`) on a local ``dask.distributed`` cluster, or on the cluster whose
scheduler ``--scheduler`` or ``GEO_DASK_SCHEDULER`` names.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import psutil

from geo.analysis import StepCallback
from geo.config import Config
from geo.errors import ConfigError, GeoError
from geo.grid import Grid, analysis_memory_bytes
from geo.store import LayerStore
from geo.types import ANALYSIS_CRS

log = logging.getLogger(__name__)

Engine = Literal["auto", "memory", "dask"]
ENGINES: tuple[str, ...] = ("auto", "memory", "dask")
#: Environment variable naming the scheduler of an existing Dask cluster.
SCHEDULER_ENV = "GEO_DASK_SCHEDULER"
#: Seconds to wait for a scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 5.0
#: Share of the available memory the in-memory analysis may take under ``auto``.
MEMORY_SHARE = 0.8


class ClusterError(GeoError, OSError):
    """The Dask cluster could not be reached, or lost the work it was given."""


@dataclass(frozen=True)
class EngineChoice:
    """The engine a run uses, and the estimate behind the choice."""

    engine: Literal["memory", "dask"]
    cells: int
    estimate_bytes: int
    available_bytes: int
    reason: str

    def describe(self) -> str:
        """One line for the log and the run record."""
        return (f"engine {self.engine}: {self.cells:,} cells, in-memory estimate {self.estimate_bytes / 1e9:.1f} GB, "
                f"{self.available_bytes / 1e9:.1f} GB available ({self.reason})")


def run_grid(config: Config, store: LayerStore) -> Grid:
    """The grid a run of ``config`` covers, from the states layer alone (no other layer is read).

    Parameters
    ----------
    config, store
        The configuration and the layer store.

    Returns
    -------
    Grid
        The same grid :func:`geo.analysis.prepare` builds.
    """
    states = store.read("states")
    states = states[states["state"].isin(config.states)].to_crs(ANALYSIS_CRS)
    if states.empty:
        raise ConfigError(f"states {config.states} are not in the 'states' layer")
    return Grid.covering(tuple(states.total_bounds), config.resolution_m)


def choose_engine(engine: Engine, grid: Grid, criteria: int, *, available_bytes: int | None = None,
                  scheduler: str | None = None) -> EngineChoice:
    """Pick the in-memory or the chunked path for a grid.

    Parameters
    ----------
    engine
        ``memory`` or ``dask`` to force one; ``auto`` to choose by the memory estimate
        (or ``dask`` when a scheduler is named).
    grid
        The run's grid.
    criteria
        How many criteria the run computes.
    available_bytes
        Memory available (default: what the operating system reports now).
    scheduler
        The address of an existing cluster, if any.

    Returns
    -------
    EngineChoice

    Raises
    ------
    ConfigError
        ``memory`` was forced for a grid whose estimate exceeds the available memory.
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    cells = grid.width * grid.height
    estimate = analysis_memory_bytes(cells, criteria)
    available = psutil.virtual_memory().available if available_bytes is None else available_bytes
    fits = estimate <= MEMORY_SHARE * available
    if engine == "memory" and not fits:
        raise ConfigError(
            f"the in-memory analysis of {grid.width:,} x {grid.height:,} cells at {grid.resolution:g} m needs about "
            f"{estimate / 1e9:.1f} GB, more than {MEMORY_SHARE:.0%} of the {available / 1e9:.1f} GB available; "
            "use --engine dask (or auto), a coarser --resolution or fewer states")
    if engine == "memory":
        return EngineChoice("memory", cells, estimate, available, "forced")
    if engine == "dask":
        return EngineChoice("dask", cells, estimate, available, "forced")
    if scheduler:
        return EngineChoice("dask", cells, estimate, available, f"scheduler {scheduler} named")
    reason = f"{'within' if fits else 'over'} {MEMORY_SHARE:.0%} of available memory"
    return EngineChoice("memory" if fits else "dask", cells, estimate, available, reason)


def scheduler_address(scheduler: str | None) -> str | None:
    """The scheduler named on the command line, else by ``GEO_DASK_SCHEDULER`` (None: start a local one)."""
    return scheduler or os.environ.get(SCHEDULER_ENV) or None


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int = 2, memory_limit: str | int = "auto",
                processes: bool = True, timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[object]:
    """A ``dask.distributed`` client on the named scheduler, or on a new local cluster closed afterwards.

    Parameters
    ----------
    scheduler
        Address of an existing scheduler (``tcp://host:8786``); None starts a LocalCluster.
    workers, memory_limit, processes
        The local cluster's worker processes (one thread each), memory limit per worker
        and whether workers are processes.
    timeout_s
        How long to wait for a named scheduler.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ClusterError
        The scheduler did not answer within ``timeout_s``.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout_s, set_as_default=True)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"the Dask scheduler at {scheduler!r} did not answer within {timeout_s:g} s "
                               f"({type(exc).__name__}: {exc}); check --scheduler or {SCHEDULER_ENV}") from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, memory_limit=memory_limit,
                           dashboard_address=":0" if _has_dashboard() else None)
    client = Client(cluster, set_as_default=True)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def dashboard_link(client: object) -> str | None:
    """The Dask dashboard's address, when the cluster serves one."""
    services = client.scheduler_info().get("services", {})  # type: ignore[attr-defined]
    return client.dashboard_link if "dashboard" in services else None  # type: ignore[attr-defined]


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def run_chunked(config: Config, store: LayerStore, *, client: object, runs_dir: Path | None,
                tile_size: int, choice: EngineChoice | None = None, on_step: StepCallback | None = None):  # noqa: ANN201
    """Rank sites with the chunked path and (unless ``runs_dir`` is None) write the run folder.

    Parameters
    ----------
    config, store
        As for :func:`geo.api.run`.
    client
        The ``dask.distributed`` client the work runs on.
    runs_dir
        Where the run folder goes; None writes nothing.
    tile_size
        Tile edge in cells.
    choice
        The engine choice, recorded in the run record.
    on_step
        Called with the name of each step.

    Returns
    -------
    geo.api.RunResult
        The site table, the run record and an overview of the grid for the map and
        report (:func:`geo.chunked.overview`).

    Raises
    ------
    ClusterError
        A worker died or the cluster lost the work; no run folder is written.
    """
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    import geo.api as api
    from geo.chunked import analyse_chunked, check_tile_size, overview, overview_factor
    from geo.cog import write_chunked_run
    from geo.statesummary import state_summary

    check_tile_size(tile_size)
    started = datetime.now(UTC)
    work_parent = Path(runs_dir) if runs_dir is not None else None
    if work_parent is not None:
        work_parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".work-", dir=work_parent))
    try:
        try:
            chunked = analyse_chunked(config, store, workdir, tile_size=tile_size, on_step=on_step)
            if on_step:
                on_step("overview")
            analysis, labels, cell_scores = overview(chunked)
        except (KilledWorker, FutureCancelledError, CommClosedError, TimeoutError) as exc:
            raise ClusterError(f"the Dask cluster lost the work ({type(exc).__name__}: {exc}); "
                               "nothing was written; run again") from exc
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{config.name}"
        result = api.RunResult(analysis, chunked.sites, labels, cell_scores, {})
        record = api.run_record(analysis, chunked.sites, run_id, started, store)
        grid = chunked.analysis.grid
        cell_km2 = grid.resolution**2 / 1e6
        record["grid"] = {"crs": grid.crs, "resolution_m": grid.resolution, "width": grid.width,
                          "height": grid.height, "transform": list(grid.transform)[:6]}
        record["exclusions"]["area_km2"] = {k: round(v * cell_km2, 1) for k, v in chunked.cause_cells.items()}
        record["exclusions"]["eligible_km2"] = round(chunked.eligible_cells * cell_km2, 1)
        step = overview_factor(grid)
        record["states"] = state_summary(analysis, chunked.sites, labels)
        record["engine"] = {"name": "dask", "tile_size": tile_size, "overview_step": step,
                            "choice": choice.describe() if choice else "dask",
                            "note": "per-state areas are from every cell" if step == 1 else
                            f"per-state areas are from every {step}th row and column"}
        record["robustness"] = {"draws": 0, "seed": 0, "top_n": config.sites.top_n,
                                "method": "not computed by the chunked path; use `geo sensitivity`"}
        result.record = record
        if runs_dir is not None:
            if on_step:
                on_step("write outputs")
            start = time.perf_counter()
            result.output_dir = write_chunked_run(Path(runs_dir), run_id, chunked.sites, record, grid,
                                                  chunked.array("bits"), chunked.array("score"))
            analysis.timings["write outputs"] = round(time.perf_counter() - start, 3)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(config: Config, store: LayerStore | str | Path | None, *, engine: Engine = "auto",
        tile_size: int | None = None, scheduler: str | None = None, runs_dir: Path | None = None,
        robustness_draws: int = 0, workers: int = 2, on_step: StepCallback | None = None,
        on_note: StepCallback | None = None):  # noqa: ANN201
    """:func:`geo.api.run` on the engine :func:`choose_engine` picks.

    Parameters
    ----------
    config, store, runs_dir, robustness_draws, on_step
        As for :func:`geo.api.run` (robustness draws need the in-memory path).
    engine
        ``auto``, ``memory`` or ``dask``.
    tile_size
        Tile edge in cells for the chunked path (default :data:`geo.chunked.DEFAULT_TILE_SIZE`).
    scheduler
        Address of an existing Dask scheduler (default: ``GEO_DASK_SCHEDULER``, else a local cluster).
    workers
        Worker processes of a local cluster, and processes sharing the weight draws.
    on_note
        Called with lines worth showing the user: the engine chosen and the dashboard address.

    Returns
    -------
    geo.api.RunResult
    """
    import geo.api as api
    from geo.chunked import DEFAULT_TILE_SIZE, check_tile_size

    tile_size = check_tile_size(DEFAULT_TILE_SIZE if tile_size is None else tile_size)
    config, layer_store = api.resolve(config, store)
    address = scheduler_address(scheduler)
    choice = choose_engine(engine, run_grid(config, layer_store), len(config.criteria), scheduler=address)
    (log.warning if choice.engine == "dask" and engine == "auto" else log.info)("%s", choice.describe())
    if on_note:
        on_note(choice.describe())
    if choice.engine == "memory":
        return api.run(config, layer_store, runs_dir=runs_dir, robustness_draws=robustness_draws, workers=workers,
                       on_step=on_step)
    if robustness_draws:
        log.warning("robustness draws need the in-memory path: the chunked run has no robustness columns")
    with dask_client(address, workers=workers) as client:
        link = dashboard_link(client)
        if on_note:
            on_note(f"Dask dashboard: {link}" if link else f"Dask scheduler: {client.scheduler.address}")  # type: ignore[attr-defined]
        return run_chunked(config, layer_store, client=client, runs_dir=runs_dir, tile_size=tile_size,
                           choice=choice, on_step=on_step)
