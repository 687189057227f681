"""Score tables of the user's own places (points or polygons), from a :class:`~geo.pointquery.PointScorer`.

Each place keeps the user's columns and gains a ``status``: *scored*; *excluded*
(on land that can never hold a site: no score is shown, the causes are named); or
*outside* (beyond the states analysed: no score and no values at all).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError
from geo.grid import Grid
from geo.pointquery import PointScorer
from geo.types import ANALYSIS_CRS

log = logging.getLogger(__name__)

SCORED, EXCLUDED, OUTSIDE = "scored", "excluded", "outside"
#: The columns put before the criteria's values and sub-scores.
LEADING_COLUMNS = ("row", "status", "score", "excluded", "excluded_share", "exclusion_causes", "exclusions")
#: A polygon is scored over at most this many cell centres.
MAX_CELLS_PER_POLYGON = 4_000_000


def score_places_from_layers(scorer: PointScorer, places: gpd.GeoDataFrame, first_row: int = 1) -> pd.DataFrame:
    """Score points or polygons: the user's columns, then status, score, causes, every raw value and sub-score.

    A point takes the values at the point. A polygon takes the mean over the centres of
    the analysis cells it contains (or, when smaller than a cell, its representative
    point), as the raster path does; it counts as excluded when more than half of them
    are, and ``excluded_share`` says how much of it is.

    Parameters
    ----------
    scorer
        The loaded analysis.
    places
        Places in any CRS.
    first_row
        Number of the first place in its input (``row`` counts from it), for inputs read in chunks.

    Returns
    -------
    pandas.DataFrame
        One row per place, in order. ``score`` is NaN unless the place is scored;
        places outside the states have no values.

    Raises
    ------
    InputError
        A polygon too large to score at the configured resolution.
    """
    x, y, owner = _sample_points(places.geometry.to_crs(ANALYSIS_CRS).to_numpy(), scorer.config.resolution_m,
                                 first_row)
    found = scorer.score_xy(x, y)
    n = len(places)
    counts = np.bincount(owner, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    excluded_share = np.bincount(owner, weights=found.bits != 0, minlength=n) / counts
    outside = np.bincount(owner, weights=found.outside, minlength=n) == counts
    bits = np.bitwise_or.reduceat(found.bits, starts)
    status = np.where(outside, OUTSIDE, np.where(excluded_share > 0.5, EXCLUDED, SCORED))
    raw = {name: _mean_by(values, owner, n) for name, values in found.raw.items()}
    subscores = {name: _mean_by(values, owner, n) for name, values in found.subscores.items()}
    score = scorer.aggregate(subscores)
    words = _cause_words(scorer, bits)
    table = pd.DataFrame({
        "row": np.arange(first_row, first_row + n),
        "status": status,
        "score": np.where(status == SCORED, score, np.nan),
        "excluded": status != SCORED,
        "excluded_share": excluded_share,
        "exclusion_causes": [names for names, _ in words],
        "exclusions": [text for _, text in words],
    })
    for criterion in scorer.criteria:
        table[f"{criterion.name}_value"] = raw[criterion.name]
        table[f"{criterion.name}_score"] = subscores[criterion.name]
    table["caveats"] = pd.Categorical([caveat_summary(scorer)] * n)
    return pd.concat([_user_columns(places, table.columns), table], axis=1)


def caveat_summary(scorer: PointScorer) -> str:
    """One short line for every scored row: SYNTHETIC for the demo, else the layers that carry a caveat.

    Parameters
    ----------
    scorer
        The loaded analysis.

    Returns
    -------
    str
        For example "SYNTHETIC demo data", or "caveats on federal_land, fiber (see `geo layers`)";
        empty when no layer used has one.
    """
    if scorer.synthetic:
        return "SYNTHETIC demo data"
    names = sorted(scorer.caveats)
    return f"caveats on {', '.join(names)} (see `geo layers`)" if names else ""


def _sample_points(geometries: np.ndarray, resolution: float, first_row: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points each place is scored at (x, y in the analysis CRS) and the place each belongs to (sorted)."""
    kinds = shapely.get_type_id(geometries)
    points = kinds == shapely.GeometryType.POINT
    polygons = np.isin(kinds, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    anchor = geometries.copy()
    others = ~points
    if others.any():
        anchor[others] = shapely.point_on_surface(geometries[others])
    x, y = shapely.get_x(anchor), shapely.get_y(anchor)
    if not polygons.any():
        return x, y, np.arange(len(geometries))
    xs, ys, owners = [], [], []
    for i in range(len(geometries)):
        cx, cy = (_cell_centres_in(geometries[i], resolution, first_row + i) if polygons[i]
                  else (np.empty(0), np.empty(0)))
        if cx.size == 0:
            cx, cy = x[i:i + 1], y[i:i + 1]
        xs.append(cx)
        ys.append(cy)
        owners.append(np.full(cx.size, i))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)


def _cell_centres_in(polygon: shapely.Geometry, resolution: float, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the analysis cells whose centre the polygon contains (the grid is snapped to the resolution)."""
    grid = Grid.covering(polygon.bounds, resolution)
    cells = grid.width * grid.height
    if cells > MAX_CELLS_PER_POLYGON:
        raise InputError(f"row {row}: a polygon spanning {cells:,} cells of {resolution:g} m is too large to "
                         f"score; split it or use a coarser --resolution")
    rows, cols = np.divmod(np.arange(cells), grid.width)
    cx, cy = grid.cell_centres(rows, cols)
    inside = shapely.contains_xy(polygon, cx, cy)
    return cx[inside], cy[inside]


def _mean_by(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of the known values of each place (NaN where none is known)."""
    if len(values) == n:
        return values
    known = ~np.isnan(values)
    total = np.bincount(owner, weights=np.where(known, values, 0.0), minlength=n)
    count = np.bincount(owner, weights=known, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(np.float32)


def _cause_words(scorer: PointScorer, bits: np.ndarray) -> list[tuple[str, str]]:
    """Per place, the names of its exclusion causes and the causes in words ('' when none)."""
    memo: dict[int, tuple[str, str]] = {}
    for value in np.unique(bits):
        causes = [c for i, c in enumerate(scorer.causes) if int(value) & (1 << i)]
        memo[int(value)] = (";".join(causes), "; ".join(scorer.descriptions[c] for c in causes))
    return [memo[int(v)] for v in bits]


def _user_columns(places: gpd.GeoDataFrame, ours: pd.Index) -> pd.DataFrame:
    """The user's own columns (not the geometry); one named like a column of ours gets the suffix ``_input``."""
    frame = pd.DataFrame(places.drop(columns=places.geometry.name)).reset_index(drop=True)
    clashes = {c: f"{c}_input" for c in frame.columns if c in ours}
    if clashes:
        log.warning("input columns %s are renamed %s: the scores use those names",
                    list(clashes), list(clashes.values()))
    return frame.rename(columns=clashes)
