"""Which engine runs an analysis, and the Dask cluster behind the chunked one.

``auto`` estimates the in-memory analysis's peak memory (:func:`geo.grid.analysis_memory_bytes`)
before any work starts and keeps the in-memory path while the estimate is at most
:data:`MEMORY_SHARE` of the memory available; beyond that it runs the chunked path
(:mod:`geo.chunked`) on a local ``dask.distributed`` cluster, or on the cluster whose
scheduler ``--scheduler`` or ``GEO_DASK_SCHEDULER`` names.

Both engines give the site table the same robustness columns when weight draws are
asked for: the chunked path re-ranks its sites from what each region kept of their cells
(:class:`geo.reranking.SiteTerms`), the in-memory path from the grid's sub-scores.
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
from typing import TYPE_CHECKING, Literal

import psutil

from geo.analysis import StepCallback
from geo.chunked import DEFAULT_TILE_SIZE, ChunkedAnalysis, analyse_chunked, check_tile_size, overview, overview_factor
from geo.cog import chunked_rasters
from geo.config import Config
from geo.drawcluster import SCHEDULER_TIMEOUT_S
from geo.errors import ClusterError, ConfigError
from geo.grid import Grid, analysis_memory_bytes
from geo.pipeline import build_record, resolve, robustness_settings, run_documents, run_id_for
from geo.pipeline import run as run_in_memory
from geo.runmodel import EngineInfo, ExclusionInfo, GridInfo, RunResult
from geo.runs import write_run
from geo.sensitivity import add_robustness
from geo.statesummary import state_summary
from geo.store import LayerStore
from geo.types import ANALYSIS_CRS

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

Engine = Literal["auto", "memory", "dask"]
ENGINES: tuple[str, ...] = ("auto", "memory", "dask")
#: Environment variable naming the scheduler of an existing Dask cluster.
SCHEDULER_ENV = "GEO_DASK_SCHEDULER"
#: Seconds to wait for a scheduler to answer before giving up (as for the sensitivity draws).
CONNECT_TIMEOUT_S = SCHEDULER_TIMEOUT_S
#: Share of the available memory the in-memory analysis may take under ``auto``.
MEMORY_SHARE = 0.8


@dataclass(frozen=True)
class EngineChoice:
    """The engine a run uses, and the estimate behind the choice."""

    engine: Literal["memory", "dask"]
    cells: int
    estimate_bytes: int
    available_bytes: int
    reason: str

    def describe(self) -> str:
        """One line for the log and the run record.

        Returns
        -------
        str
            The engine, the cells, the estimate, the memory available and the reason.
        """
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
        The engine and the estimate behind it.

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
    """The scheduler named on the command line, else by ``GEO_DASK_SCHEDULER`` (None: start a local one).

    Parameters
    ----------
    scheduler
        The address given, if any.

    Returns
    -------
    str or None
        The address to connect to.
    """
    return scheduler or os.environ.get(SCHEDULER_ENV) or None


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int = 2, memory_limit: str | int = "auto",
                processes: bool = True, timeout_s: float | None = None) -> Iterator[Client]:
    """A ``dask.distributed`` client on the named scheduler, or on a new local cluster closed afterwards.

    Parameters
    ----------
    scheduler
        Address of an existing scheduler (``tcp://host:8786``); None starts a LocalCluster.
    workers, memory_limit, processes
        The local cluster's worker processes (one thread each), memory limit per worker
        and whether workers are processes.
    timeout_s
        How long to wait for a named scheduler (default :data:`CONNECT_TIMEOUT_S`).

    Yields
    ------
    distributed.Client
        The client, set as the default for Dask computations.

    Raises
    ------
    ConfigError
        The scheduler did not answer within ``timeout_s`` (a wrong address or a cluster that is down).
    """
    from distributed import Client, LocalCluster

    # the scheduler's own log only as verbose as this package's (its INFO lines only with -v)
    logging.getLogger("distributed").setLevel(log.getEffectiveLevel())
    if scheduler:
        timeout = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=True)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"the Dask scheduler at {scheduler!r} did not answer within {timeout:g} s "
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


def dashboard_link(client: Client) -> str | None:
    """The Dask dashboard's address, when the cluster serves one.

    Parameters
    ----------
    client
        A connected client.

    Returns
    -------
    str or None
        The dashboard's address, None when the scheduler serves none.
    """
    services = client.scheduler_info().get("services", {})
    return client.dashboard_link if "dashboard" in services else None


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def run_chunked(config: Config, store: LayerStore, *, client: Client, runs_dir: Path | None, tile_size: int,
                choice: EngineChoice | None = None, robustness_draws: int = 0, documents: bool = False,
                on_step: StepCallback | None = None) -> RunResult:
    """Rank sites with the chunked path and (unless ``runs_dir`` is None) write the run folder.

    Parameters
    ----------
    config, store
        The configuration and layer store (see :func:`geo.pipeline.resolve`).
    client
        The ``dask.distributed`` client the work runs on.
    runs_dir
        Where the run folder goes; None writes nothing. The intermediate rasters go to a
        hidden work folder in it, which every worker must see; it is removed afterwards.
    tile_size
        Tile edge in cells.
    choice
        The engine choice, recorded in the run record.
    robustness_draws
        Weight draws behind the robustness columns (0: none), by the ``rerank`` method as
        in memory (see :func:`geo.pipeline.run`).
    documents
        Also write the map and the report into the run folder before it becomes the latest.
    on_step
        Called with the name of each step.

    Returns
    -------
    RunResult
        The site table, the run record and an overview of the grid for the map and
        report (:func:`geo.chunked.overview`); ``reranker`` re-ranks the sites when
        robustness draws were asked for.

    Raises
    ------
    ClusterError
        A worker died or the cluster lost the work; no run folder is written and the
        previous run stays the latest.
    """
    from distributed import KilledWorker
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    check_tile_size(tile_size)
    started = datetime.now(UTC)
    work_parent = Path(runs_dir) if runs_dir is not None else None
    if work_parent is not None:
        work_parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".work-", dir=work_parent))
    try:
        chunked = analyse_chunked(config, store, workdir, tile_size=tile_size, rerank=robustness_draws > 0,
                                  on_step=on_step)
        if on_step:
            on_step("overview")
        result = _result(chunked, store, started, choice, client, robustness_draws, on_step)
        if runs_dir is not None:
            if on_step:
                on_step("write outputs")
            result.output_dir = write_run(Path(runs_dir), result, documents=run_documents() if documents else (),
                                          rasters=chunked_rasters(chunked.analysis.grid, chunked.array("bits"),
                                                                  chunked.array("score")),
                                          on_step=on_step)
        return result
    except (KilledWorker, FutureCancelledError, CommClosedError, TimeoutError) as exc:
        raise ClusterError(f"the Dask cluster lost the work ({type(exc).__name__}: {exc}); "
                           "nothing was written; run again") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _result(chunked: ChunkedAnalysis, store: LayerStore, started: datetime, choice: EngineChoice | None,
            client: Client, robustness_draws: int, on_step: StepCallback | None) -> RunResult:
    """The run on the overview grid, with a record whose grid and land figures are the full grid's,
    and the robustness columns when draws are asked for."""
    analysis, labels, cell_scores = overview(chunked)
    grid, config = chunked.analysis.grid, analysis.config
    run_id = run_id_for(started, config.name)
    result = RunResult(analysis, chunked.sites, labels, cell_scores,
                       build_record(analysis, chunked.sites, run_id, started, store), reranker=chunked.reranker)
    if robustness_draws:
        if on_step:
            on_step("robustness")
        start = time.perf_counter()
        result.sites = add_robustness(result, draws=robustness_draws, seed=0, method="rerank")
        analysis.timings["robustness"] = round(time.perf_counter() - start, 3)
    engine = EngineInfo(name="dask", choice=choice.describe() if choice else "engine dask: forced",
                        tile_size=chunked.tile_size, overview_step=overview_factor(grid),
                        scheduler=client.scheduler.address)
    record = build_record(analysis, result.sites, run_id, started, store,
                          states=state_summary(analysis, result.sites, labels),
                          robustness=robustness_settings(config, robustness_draws), engine=engine)
    cell_km2 = grid.resolution**2 / 1e6
    full = {
        "grid": GridInfo(crs=grid.crs, resolution_m=grid.resolution, width=grid.width, height=grid.height,
                         transform=list(grid.transform)[:6]),
        "exclusions": ExclusionInfo(
            causes=analysis.exclusions.causes, descriptions=analysis.exclusions.descriptions,
            area_km2={k: round(v * cell_km2, 1) for k, v in chunked.cause_cells.items()},
            eligible_km2=round(chunked.eligible_cells * cell_km2, 1)),
    }
    result.record = record.model_copy(update=full)
    return result


def run(config: Config | None, store: LayerStore | str | Path | None, *, engine: Engine = "auto",
        tile_size: int | None = None, scheduler: str | None = None, runs_dir: Path | None = None,
        robustness_draws: int = 0, workers: int = 2, documents: bool = False, on_step: StepCallback | None = None,
        on_note: StepCallback | None = None) -> RunResult:
    """:func:`geo.pipeline.run` on the engine :func:`choose_engine` picks.

    Parameters
    ----------
    config, store
        What to run and on which layers (see :func:`geo.pipeline.resolve`).
    engine
        ``auto``, ``memory`` or ``dask``.
    tile_size
        Tile edge in cells for the chunked path (default :data:`geo.chunked.DEFAULT_TILE_SIZE`).
    scheduler
        Address of an existing Dask scheduler (default: ``GEO_DASK_SCHEDULER``, else a local cluster).
    runs_dir
        Where the run folder is written (None: nothing is written).
    robustness_draws
        Weight draws behind the robustness columns (0: none), on either engine.
    workers
        Worker processes of a local cluster, and processes sharing the weight draws.
    documents
        Also write the map and the report into the run folder.
    on_step
        Called with the name of each step as it starts.
    on_note
        Called with lines worth showing the user: the engine chosen and the dashboard address.

    Returns
    -------
    RunResult
        The run; its record's ``engine`` says which engine ran it and why.

    Raises
    ------
    ConfigError
        A bad tile size, ``memory`` forced on a grid too large for memory, or a named
        scheduler that does not answer.
    ClusterError
        The cluster lost the work of a chunked run.
    """
    tile_size = check_tile_size(DEFAULT_TILE_SIZE if tile_size is None else tile_size)
    config, layer_store = resolve(config, store)
    address = scheduler_address(scheduler)
    choice = choose_engine(engine, run_grid(config, layer_store), len(config.criteria), scheduler=address)
    (log.warning if choice.engine == "dask" and engine == "auto" else log.info)("%s", choice.describe())
    if on_note:
        on_note(choice.describe())
    if choice.engine == "memory":
        return run_in_memory(config, layer_store, runs_dir=runs_dir, robustness_draws=robustness_draws,
                             workers=workers, documents=documents,
                             engine=EngineInfo(name="memory", choice=choice.describe()), on_step=on_step)
    with dask_client(address, workers=workers) as client:
        link = dashboard_link(client)
        if on_note:
            on_note(f"Dask dashboard: {link}" if link else f"Dask scheduler: {client.scheduler.address}")
        return run_chunked(config, layer_store, client=client, runs_dir=runs_dir, tile_size=tile_size,
                           choice=choice, robustness_draws=robustness_draws, documents=documents, on_step=on_step)
