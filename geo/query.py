"""Point and parcel queries, and explanations of sites and places.

``read_places`` and ``iter_places`` read the places a user already has in mind;
``score_places`` scores them on a prepared analysis's grid (validation compares them
with every cell); ``explain_site`` and ``explain_location`` say in words why a site
ranks where it does, or why a place is not a site. Scoring places without building
the grid is :mod:`geo.placescores`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from geo.aggregate import aggregate
from geo.analysis import Analysis
from geo.errors import FetchError, InputError
from geo.grid import cells_of
from geo.outputs import EXCLUSIONS_TIF, SCORE_NODATA, SCORE_SCALE, SCORES_TIF
from geo.sources.files import read_vector
from geo.types import STORE_CRS

if TYPE_CHECKING:
    from geo.runmodel import RunRecord

log = logging.getLogger(__name__)

_LON_NAMES = ("lon", "longitude", "lng", "x")
_LAT_NAMES = ("lat", "latitude", "y")


def read_places(path: str | Path) -> gpd.GeoDataFrame:
    """Read points or polygons to score from CSV (lon/lat columns) or any vector file (GeoJSON, GPKG).

    Parameters
    ----------
    path
        The file of places.

    Returns
    -------
    geopandas.GeoDataFrame
        The places with their attributes, in EPSG:4326.

    Raises
    ------
    InputError
        Naming the file and the column or row at fault.
    """
    chunks = list(iter_places(path, chunk_rows=None))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks)


def iter_places(path: str | Path, chunk_rows: int | None = 100_000) -> Iterator[gpd.GeoDataFrame]:
    """Read places chunk by chunk, so that a file of millions of points never sits in memory whole.

    Parameters
    ----------
    path
        A CSV with longitude and latitude columns (read ``chunk_rows`` rows at a time),
        or a vector file with a CRS (read whole, then handed out in chunks).
    chunk_rows
        Places per chunk; None for one chunk.

    Yields
    ------
    geopandas.GeoDataFrame
        Places in EPSG:4326; the index counts rows of the whole file from 0.

    Raises
    ------
    InputError
        Naming the file and the column or row at fault.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    chunks = _csv_chunks(path, chunk_rows) if path.suffix.lower() == ".csv" else _vector_chunks(path, chunk_rows)
    empty = True
    for frame in chunks:
        if len(frame) == 0:
            continue
        empty = False
        missing = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
        if missing.any():
            raise InputError(f"{path}: row {int(frame.index[np.flatnonzero(missing)[0]]) + 1} has no geometry")
        yield frame.to_crs(STORE_CRS)
    if empty:
        raise InputError(f"{path}: holds no places")


def _csv_chunks(path: Path, chunk_rows: int | None) -> Iterator[gpd.GeoDataFrame]:
    """Places of a CSV with lon/lat columns, ``chunk_rows`` at a time, each coordinate checked."""
    try:
        reader = pd.read_csv(path, chunksize=chunk_rows) if chunk_rows else iter([pd.read_csv(path)])
        for table in reader:
            lower = {str(c).lower().strip(): c for c in table.columns}
            lon = next((lower[n] for n in _LON_NAMES if n in lower), None)
            lat = next((lower[n] for n in _LAT_NAMES if n in lower), None)
            if lon is None or lat is None:
                raise InputError(f"{path}: needs longitude and latitude columns (lon/lat), "
                                 f"found {list(table.columns)}")
            x = pd.to_numeric(table[lon], errors="coerce")
            y = pd.to_numeric(table[lat], errors="coerce")
            bad = x.isna() | y.isna() | ~x.between(-180, 180) | ~y.between(-90, 90)
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(f"{path}: row {int(table.index[row]) + 2} has an invalid coordinate "
                                 f"({table[lon].iloc[row]!r}, {table[lat].iloc[row]!r})")
            yield gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs=STORE_CRS)
    except (OSError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: not a readable CSV: {exc}") from exc


def _vector_chunks(path: Path, chunk_rows: int | None) -> Iterator[gpd.GeoDataFrame]:
    """Places of a vector file, read whole and handed out ``chunk_rows`` at a time."""
    try:
        frame = read_vector(Path(path))
    except FetchError as exc:  # the file named, GDAL's warnings (an unclosed ring) folded into the one message
        raise InputError(f"not a readable vector file: {exc}") from exc
    if frame.crs is None:
        raise InputError(f"{path}: has no CRS; expected coordinates with a CRS (GeoJSON is EPSG:4326)")
    step = chunk_rows or max(len(frame), 1)
    for start in range(0, len(frame), step):
        yield frame.iloc[start:start + step]


def score_places(analysis: Analysis, places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Score points or polygons: score, every sub-score and raw value, and the exclusions that apply.

    A point takes the values of the cell it falls in. A polygon takes the mean over
    the cells whose centres it contains (or, when it is smaller than a cell, the cell
    under its representative point); it counts as excluded when more than half its
    cells are, and ``excluded_share`` says how much of it is.

    Parameters
    ----------
    analysis
        The prepared analysis: grid, raw values, criteria and exclusions. Raw values are
        kept only on eligible cells and on the places it was prepared for, so prepare it
        with ``places`` (:func:`geo.analysis.prepare`) to score places on excluded land.
    places
        Points or polygons in any CRS.

    Returns
    -------
    pandas.DataFrame
        The places' attributes, then ``row`` (1-based), ``score``, ``excluded``,
        ``excluded_share``, ``exclusions`` and ``<criterion>_value`` / ``_score`` columns.

    Raises
    ------
    KeyError
        A place covers an excluded cell whose raw values the analysis did not keep.
    """
    grid = analysis.grid
    projected = places.to_crs(grid.crs)
    rows: list[dict[str, Any]] = []
    weights = analysis.weights
    for i, geom in enumerate(projected.geometry):
        cells = cells_of(geom, grid)
        record: dict[str, Any] = {"row": i + 1}
        if cells.size == 0:
            record.update(score=np.nan, excluded=True, exclusions="outside the analysis grid", excluded_share=1.0)
            rows.append(record)
            continue
        subscores: dict[str, float] = {}
        for criterion in analysis.criteria:
            raw = raw_at(analysis, criterion.name, cells)
            sub = criterion.value_function(raw)
            record[f"{criterion.name}_value"] = _nanmean(raw)
            subscores[criterion.name] = _nanmean(sub)
            record[f"{criterion.name}_score"] = subscores[criterion.name]
        combined = aggregate({k: np.array([v], dtype=np.float32) for k, v in subscores.items()}, weights,
                             analysis.config.aggregation.method)
        record["score"] = float(combined[0])
        bits = analysis.exclusions.bits.ravel()[cells]
        record["excluded_share"] = float(np.count_nonzero(bits) / bits.size)
        record["excluded"] = record["excluded_share"] > 0.5
        causes = sorted({c for value in np.unique(bits) for c in analysis.exclusions.causes_at(int(value))},
                        key=analysis.exclusions.causes.index)
        record["exclusions"] = "; ".join(analysis.exclusions.descriptions[c] for c in causes)
        rows.append(record)
    table = pd.DataFrame(rows)
    keep = [c for c in places.columns if c != places.geometry.name]
    front = ["row", "score", "excluded", "excluded_share", "exclusions"]
    out = pd.concat([places[keep].reset_index(drop=True), table], axis=1)
    return out[keep + front + [c for c in table.columns if c not in front]]


def raw_at(analysis: Analysis, name: str, cells: np.ndarray) -> np.ndarray:
    """A criterion's raw values at cells that are eligible, or kept for the places the analysis was prepared for.

    Parameters
    ----------
    analysis
        The prepared analysis.
    name
        An active criterion.
    cells
        Flat indices into the grid.

    Returns
    -------
    numpy.ndarray
        float32 raw values, one per cell (NaN where unknown).

    Raises
    ------
    KeyError
        A cell is neither eligible nor kept: pass its place to :func:`geo.analysis.prepare` as ``places``.
    """
    out = np.full(cells.shape, np.nan, dtype=np.float32)
    found = np.zeros(cells.shape, dtype=bool)
    for held, values in ((analysis.eligible, analysis.raw[name]), (analysis.kept_cells, analysis.kept_raw.get(name))):
        if held.size == 0 or values is None:
            continue
        at = np.minimum(np.searchsorted(held, cells), held.size - 1)
        hit = held[at] == cells
        out[hit], found[hit] = values[at[hit]], True
    if not found.all():
        raise KeyError(f"raw values of {name!r} are kept only on eligible cells and the places given to "
                       f"prepare(places=...); cell {int(cells[~found][0])} is neither")
    return out


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def explain_site(site: pd.Series, record: RunRecord, n_sites: int) -> dict[str, Any]:
    """The breakdown behind one site's score, and a sentence that says why it ranks where it does.

    Parameters
    ----------
    site
        The site's row of the run's site table.
    record
        The run's record (weights, criteria, caveats).
    n_sites
        How many sites the run found.

    Returns
    -------
    dict[str, Any]
        ``site`` (its attributes), ``criteria`` (weight, value, sub-score and
        contribution of each), ``summary`` and ``caveats``.
    """
    weights = record.weights
    units = {name: c.unit for name, c in record.criteria.items()}
    parts: list[dict[str, Any]] = []
    for name, weight in weights.items():
        parts.append({
            "criterion": name, "weight": weight, "unit": units.get(name, ""),
            "value": _float(site.get(f"{name}_value")), "sub_score": _float(site.get(f"{name}_score")),
            "contribution": _float(site.get(f"{name}_contribution")),
        })
    known = [p for p in parts if not np.isnan(p["sub_score"])]
    strongest = sorted(known, key=lambda p: -p["contribution"])[:2]
    weakest = sorted(known, key=lambda p: (p["sub_score"], -p["weight"]))[:1]
    summary = (
        f"Site {site['site_id']} ranks {int(site['rank'])} of {n_sites} with score {site['score']:.3f}. "
        f"Its score comes most from {' and '.join(_phrase(p) for p in strongest)}"
        + (f"; it is held back most by {_phrase(weakest[0])}." if weakest else ".")
    )
    return {"site": site.drop(labels=["geometry"], errors="ignore").to_dict(), "criteria": parts,
            "summary": summary, "caveats": record.caveats}


def _phrase(part: dict[str, Any]) -> str:
    value = part["value"]
    shown = "unknown" if np.isnan(value) else f"{value:.1f} {part['unit']}".strip()
    return f"{part['criterion'].replace('_', ' ')} ({shown}, sub-score {part['sub_score']:.2f})"


def _float(value: Any) -> float:
    return float(value) if value is not None and not pd.isna(value) else float("nan")


def explain_location(run_dir: Path, record: RunRecord, sites: gpd.GeoDataFrame,
                     lon: float, lat: float) -> dict[str, Any]:
    """Why a place is or is not a site, read from a run's saved rasters and site table.

    Parameters
    ----------
    run_dir
        The run's folder.
    record
        The run's record.
    sites
        The run's sites (EPSG:4326).
    lon, lat
        The place, in degrees (EPSG:4326).

    Returns
    -------
    dict[str, Any]
        ``status`` (``site``, ``outside``, ``excluded`` or ``not_a_site``), ``reasons``, and
        the site id and rank, exclusion causes or score that explain it.
    """
    point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=STORE_CRS)
    hit = sites[sites.intersects(point.iloc[0])]
    if len(hit):
        return {"status": "site", "site_id": hit.iloc[0]["site_id"], "rank": int(hit.iloc[0]["rank"]),
                "reasons": [f"inside site {hit.iloc[0]['site_id']} (rank {int(hit.iloc[0]['rank'])})"]}
    projected = point.to_crs(record.grid.crs).iloc[0]
    with rasterio.open(run_dir / EXCLUSIONS_TIF) as src:
        row, col = src.index(projected.x, projected.y)
        if not (0 <= row < src.height and 0 <= col < src.width):
            return {"status": "outside", "reasons": ["outside the analysis grid"]}
        bits = int(src.read(1, window=((row, row + 1), (col, col + 1)))[0, 0])
    with rasterio.open(run_dir / SCORES_TIF) as src:
        scaled = int(src.read(1, window=((row, row + 1), (col, col + 1)))[0, 0])
    causes = [c for i, c in enumerate(record.exclusions.causes) if bits & (1 << i)]
    if causes:
        return {"status": "excluded", "causes": causes,
                "reasons": [record.exclusions.descriptions[c] for c in causes]}
    score = np.nan if scaled == SCORE_NODATA else scaled / SCORE_SCALE
    threshold = record.config.sites.min_cell_score
    if score < threshold:
        reason = f"eligible land, but its score {score:.2f} is below the site threshold {threshold:.2f}"
    else:
        reason = (f"eligible land scoring {score:.2f}, but its patch of suitable land is smaller than "
                  f"{record.config.sites.min_area_acres:,.0f} acres")
    return {"status": "not_a_site", "score": score, "reasons": [reason]}
