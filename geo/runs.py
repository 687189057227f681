"""Run folders: writing a run, finding the latest one, and loading a finished run again.

Layout::

    <runs>/LATEST                 id of the newest complete run
    <runs>/<run id>/run.json      the run record (:class:`~geo.runmodel.RunRecord`)
    <runs>/<run id>/sites.*       the site table (GeoParquet, GeoJSON, CSV)
    <runs>/<run id>/*.tif         exclusion causes and scores on the grid
    <runs>/<run id>/map.html, report.*   the map and report, when the run asked for them

A run is complete, or it is not the latest. Every file of a run is written into a
hidden staging folder beside its final place; the folder is renamed into place when
everything is written, and only then is ``LATEST`` replaced (atomically) by the new
id. A failure or a kill at any point, a full disk included, leaves ``LATEST`` on the
previous complete run; the staging folder a kill leaves behind is removed by a later
run once it is a day old.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
from pydantic import ValidationError

from geo.analysis import StepCallback, prepare
from geo.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    remove_stale_staging,
    replace_folder,
    staging_folder,
    write_error,
)
from geo.errors import StoreError
from geo.outputs import SITES_PARQUET, write_rasters, write_site_table
from geo.runmodel import RunRecord, RunResult
from geo.sitetable import rank
from geo.store import LayerStore

log = logging.getLogger(__name__)

DEFAULT_RUNS = Path("data/runs")
RUN_RECORD = "run.json"
LATEST = "LATEST"
MAP_HTML = "map.html"

#: A document written into a run folder before it is complete: its name, and a writer
#: called with the run and the (staging) folder.
DocumentWriter = tuple[str, Callable[[RunResult, Path], Path]]
#: Writes a run's rasters (``exclusions.tif``, ``scores.tif``) into a (staging) folder.
RasterWriter = Callable[[Path], None]


def write_run(runs_dir: Path, result: RunResult, *, documents: Sequence[DocumentWriter] = (),
              rasters: RasterWriter | None = None, on_step: StepCallback | None = None) -> Path:
    """Write every output of a run, then make it the latest run.

    Parameters
    ----------
    runs_dir
        The folder of run folders.
    result
        The run; its record's ``run_id`` names the folder.
    documents
        Further writers (the map, the report) whose files belong to the run.
    rasters
        Writes the rasters (default: from the run's in-memory analysis); the chunked
        path writes them tile by tile (:func:`geo.cog.chunked_rasters`).
    on_step
        Called with each document's name before it is written.

    Returns
    -------
    Path
        The run folder.

    Raises
    ------
    WriteError
        A file could not be written (full disk, read-only folder): no run folder is
        left half-written and ``LATEST`` still names the previous complete run.
    """
    run_id = result.record.run_id
    final = runs_dir / run_id
    analysis = result.analysis
    with staging_folder(runs_dir, run_id) as staging:
        try:
            write_site_table(result.sites, staging)
            if rasters is None:
                write_rasters(staging, analysis.grid, analysis.exclusions.bits, analysis.eligible, result.cell_scores)
            else:
                rasters(staging)
            (staging / RUN_RECORD).write_text(result.record.to_json(), encoding="utf-8")
            for name, writer in documents:
                if on_step:
                    on_step(name)
                writer(result, staging)
        except OSError as exc:
            raise write_error(final, exc) from exc
        replace_folder(staging, final)
    atomic_write_text(runs_dir / LATEST, run_id)
    for orphan in remove_stale_staging(runs_dir):
        log.info("removed %s, left by a run that was killed while writing", orphan)
    log.info("wrote run %s to %s", run_id, final)
    return final


def latest_run(runs_dir: Path) -> Path:
    """The newest complete run folder.

    Parameters
    ----------
    runs_dir
        The folder of run folders.

    Returns
    -------
    Path
        The folder ``LATEST`` names.

    Raises
    ------
    StoreError
        There is no run yet, or the folder ``LATEST`` names is gone.
    """
    pointer = runs_dir / LATEST
    if not pointer.is_file():
        raise StoreError(f"no run found in {runs_dir}; run `geo run` first")
    folder = runs_dir / pointer.read_text(encoding="utf-8").strip()
    if not (folder / RUN_RECORD).is_file():
        raise StoreError(f"run folder {folder} is incomplete or missing")
    return folder


def read_run(folder: Path) -> tuple[gpd.GeoDataFrame, RunRecord]:
    """The site table and run record of a run folder.

    Parameters
    ----------
    folder
        A run folder.

    Returns
    -------
    tuple[GeoDataFrame, RunRecord]
        The site table and the record.

    Raises
    ------
    StoreError
        A file is missing or unreadable, or ``run.json`` is not a run record.
    """
    try:
        sites = gpd.read_parquet(folder / SITES_PARQUET)
        record = RunRecord.model_validate_json((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise StoreError(f"run {folder}: {RUN_RECORD} is not a run record: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise StoreError(f"run {folder} is unreadable: {exc}") from exc
    return sites, record


def result_from_run(folder: Path, on_step: StepCallback | None = None) -> RunResult:
    """A run folder's site table and record, with its analysis prepared again from the run's store.

    The site table and record are the run's own; the layers and exclusions are read
    again from the store the run used, with the run's configuration. A warning names
    any layer whose data has changed in the store since the run.

    Parameters
    ----------
    folder
        A run folder.
    on_step
        Called with the name of each step of the preparation.

    Returns
    -------
    RunResult
        The run, with ``output_dir`` set to ``folder``.

    Raises
    ------
    StoreError
        The run folder is unreadable, or the store it used no longer exists.
    """
    sites, record = read_run(folder)
    store_root = Path(record.store)
    if not store_root.is_dir():
        raise StoreError(f"run {folder.name} used the store {store_root}, which no longer exists")
    analysis = prepare(record.config, LayerStore(store_root), on_step=on_step)
    changed = record.changed_layers(analysis.provenance)
    if changed:
        log.warning("layers %s changed in %s since run %s; the map shows their current data",
                    changed, store_root, folder.name)
    _, labels, cell_scores = rank(analysis)
    return RunResult(analysis, sites, labels, cell_scores, record, output_dir=folder)


def publish_map(result: RunResult, maps_dir: Path | None = None) -> Path:
    """Copy a written run's map to ``<maps_dir>/<run id>.html`` and ``<maps_dir>/latest.html``.

    Parameters
    ----------
    result
        A run written with its map.
    maps_dir
        Where the copies go (default: where :func:`geo.maps.write_map` puts maps, ``maps/``).

    Returns
    -------
    Path
        The copy named after the run.

    Raises
    ------
    StoreError
        The run has no map in its folder.
    WriteError
        A copy could not be written (the previous copies are kept).
    """
    source = (result.output_dir or Path()) / MAP_HTML
    if result.output_dir is None or not source.is_file():
        raise StoreError(f"run {result.record.run_id} has no {MAP_HTML} to publish")
    from geo.maps import DEFAULT_MAPS_DIR, LATEST_MAP

    folder = DEFAULT_MAPS_DIR if maps_dir is None else maps_dir
    page = source.read_bytes()
    target = folder / f"{result.record.run_id}.html"
    atomic_write_bytes(target, page)
    atomic_write_bytes(folder / LATEST_MAP, page)
    return target


__all__ = ["DEFAULT_RUNS", "LATEST", "MAP_HTML", "RUN_RECORD", "DocumentWriter", "RasterWriter", "latest_run",
           "publish_map", "read_run", "result_from_run", "write_run"]
