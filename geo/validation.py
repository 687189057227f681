"""Validation: how well the scores separate places a user knows to be good from others.

Given labelled places (``1`` = known good, ``0`` = known unsuitable or unremarkable),
the model is judged by

* the ROC AUC of their scores: the probability that a random positive scores above a
  random negative (ties count half), from the Mann-Whitney U statistic, with a
  stratified percentile bootstrap interval;
* the median rank percentile of the positives among all eligible cells: 100 means
  every positive scores at the very top of the study area.

Places on excluded land are scored below every eligible cell (the model rejects
them). See ``docs/VALIDATION.md``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from geo.analysis import prepare
from geo.config import Config
from geo.errors import InputError
from geo.pipeline import resolve
from geo.query import read_places, score_places
from geo.store import LayerStore

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores and labels must be 1-d arrays of one length, got {scores.shape} and {labels.shape}")
    if np.isnan(scores).any():
        raise ValueError(f"{int(np.isnan(scores).sum())} scores are NaN; drop or score those places first")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1 (or booleans)")
    labels = labels.astype(bool)
    if labels.all() or not labels.any():
        raise ValueError("labels need at least one positive and one negative place")
    return scores, labels


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counting half.

    Computed from the Mann-Whitney U statistic on mid-ranks. Scores may be ``-inf``
    (places the model rejects outright).

    Parameters
    ----------
    scores
        Score of each place.
    labels
        Whether each place is a positive (bool, same length).

    Returns
    -------
    float
        The AUC in [0, 1]; 0.5 is no better than chance.
    """
    scores, labels = _check(scores, labels)
    ranks = stats.rankdata(scores)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def bootstrap_auc_interval(scores: np.ndarray, labels: np.ndarray, n: int = 2000, level: float = 0.95,
                           seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the ROC AUC.

    Positives and negatives are resampled separately (stratified), so every resample
    keeps both classes and the class sizes of the data.

    Parameters
    ----------
    scores
        Score of each place.
    labels
        Whether each place is a positive (bool, same length).
    n
        Number of bootstrap resamples.
    level
        Coverage of the interval, e.g. 0.95.
    seed
        Seed of the random generator, for a repeatable interval.

    Returns
    -------
    tuple[float, float]
        The lower and upper bounds of the AUC.
    """
    scores, labels = _check(scores, labels)
    if n < 1:
        raise ValueError(f"bootstrap resamples must be at least 1, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    rng = np.random.default_rng(seed)
    pos, neg = scores[labels], scores[~labels]
    sample = np.concatenate([rng.choice(pos, size=(n, pos.size)), rng.choice(neg, size=(n, neg.size))], axis=1)
    ranks = stats.rankdata(sample, axis=1)
    u = ranks[:, : pos.size].sum(axis=1) - pos.size * (pos.size + 1) / 2
    aucs = u / (pos.size * neg.size)
    tail = (1 - level) / 2
    low, high = np.quantile(aucs, [tail, 1 - tail])
    return float(low), float(high)


def rank_percentiles(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of each value among ``reference`` scores: the share below plus half the ties.

    Parameters
    ----------
    reference
        The scores ranked against (NaN ignored).
    values
        The scores to place among them.

    Returns
    -------
    numpy.ndarray
        One percentile per value.
    """
    reference = np.sort(np.asarray(reference, dtype=float)[~np.isnan(reference)])
    if reference.size == 0:
        raise ValueError("no reference scores to rank against")
    values = np.asarray(values, dtype=float)
    below = np.searchsorted(reference, values, side="left")
    at_or_below = np.searchsorted(reference, values, side="right")
    return 100.0 * (below + 0.5 * (at_or_below - below)) / reference.size


def median_rank_percentile(reference: np.ndarray, positive_scores: np.ndarray) -> float:
    """Median rank percentile of the positives' scores among ``reference`` scores (e.g. all eligible cells).

    Parameters
    ----------
    reference
        The scores ranked against (NaN ignored).
    positive_scores
        The scores of the positive places.

    Returns
    -------
    float
        The median of their percentiles (0-100).
    """
    positive_scores = np.asarray(positive_scores, dtype=float)
    if positive_scores.size == 0:
        raise ValueError("no positive scores")
    return float(np.median(rank_percentiles(reference, positive_scores)))


@dataclass
class ValidationResult:
    """The measures of separation and the scored places behind them."""

    auc: float
    auc_low: float
    auc_high: float
    level: float
    positives: int
    negatives: int
    median_rank_percentile: float
    dropped: int
    places: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """The measures as a JSON-ready dict (without the table of places).

        Returns
        -------
        dict[str, Any]
            The fields of the result but ``places``.
        """
        out = asdict(self)
        out.pop("places")
        return out


def parse_labels(values: pd.Series, column: str, where: str) -> np.ndarray:
    """Read a label column as booleans: 1/0, true/false, yes/no (any case).

    Parameters
    ----------
    values
        The column as read.
    column
        Its name, for the error message.
    where
        The file it came from, for the error message.

    Returns
    -------
    numpy.ndarray
        bool, True for a positive.

    Raises
    ------
    InputError
        Naming the file, the column and the first row that is not a label.
    """
    text = values.astype(str).str.strip().str.lower()
    text = text.str.replace(r"\.0$", "", regex=True)
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where}: column {column!r}, row {row + 2}: {values.iloc[row]!r} is not a label "
                         "(use 1/0, true/false or yes/no)")
    return text.isin(_TRUE).to_numpy()


def validate(places: gpd.GeoDataFrame | str | Path, label_column: str, config: Config | None = None,
             store: LayerStore | str | Path | None = None, *, n_boot: int = 2000, level: float = 0.95,
             seed: int = 0) -> ValidationResult:
    """Score labelled places with the analysis and measure how well the scores separate them.

    Places outside the analysis grid cannot be judged and are dropped (with a
    warning); places on excluded land are ranked below every eligible cell.

    Parameters
    ----------
    places
        Labelled places (points or polygons), or a file of them.
    label_column
        The column holding each place's label (1/0, true/false, yes/no).
    config
        The configuration to score with (default: the default configuration).
    store
        The layer store (default ``data/store``, or the demo region when it is empty).
    n_boot
        Bootstrap resamples for the AUC interval.
    level
        Coverage of the AUC interval.
    seed
        Seed of the bootstrap.

    Returns
    -------
    ValidationResult
        The AUC with its interval, the class counts, the positives' median rank percentile
        among eligible cells, the number of places dropped and the scored places.

    Raises
    ------
    InputError
        The label column is missing or holds something other than labels, or after
        dropping there is not at least one positive and one negative place.
    """
    where = str(places) if not isinstance(places, gpd.GeoDataFrame) else "places"
    frame = places if isinstance(places, gpd.GeoDataFrame) else read_places(places)
    if label_column not in frame.columns:
        raise InputError(f"{where}: no column {label_column!r}; columns are {list(frame.columns)}")
    labels = parse_labels(frame[label_column], label_column, where)
    config, layer_store = resolve(config, store)
    analysis = prepare(config, layer_store, places=frame)
    scored = score_places(analysis, frame)
    outside = scored["score"].isna().to_numpy()
    if outside.any():
        log.warning("%s: %d places are outside the analysis grid or have no known score and are left out",
                    where, int(outside.sum()))
    scores = np.where(scored["excluded"].to_numpy(dtype=bool), -np.inf, scored["score"].to_numpy(dtype=float))
    keep = ~outside
    table = scored.assign(label=labels)
    scores, labels = scores[keep], labels[keep]
    if labels.all() or not labels.any():
        raise InputError(f"{where}: column {label_column!r} needs at least one positive and one negative place "
                         f"that can be scored (got {int(labels.sum())} positive, {int((~labels).sum())} negative)")
    reference = analysis.cell_scores()
    low, high = bootstrap_auc_interval(scores, labels, n=n_boot, level=level, seed=seed)
    table["rank_percentile"] = np.nan
    table.loc[keep, "rank_percentile"] = rank_percentiles(reference, scores)
    return ValidationResult(
        auc=roc_auc(scores, labels), auc_low=low, auc_high=high, level=level,
        positives=int(labels.sum()), negatives=int((~labels).sum()),
        median_rank_percentile=median_rank_percentile(reference, scores[labels]),
        dropped=int(outside.sum()), places=table,
    )


__all__ = ["ValidationResult", "bootstrap_auc_interval", "median_rank_percentile", "parse_labels",
           "rank_percentiles", "roc_auc", "validate"]
