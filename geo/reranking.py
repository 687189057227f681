"""Re-rank the base sites under new weights from their own cells' sub-scores, without searching for sites again.

The fast method of :mod:`geo.sensitivity`, and the one ``geo run`` uses for its robustness
columns. The sites stay the sites of the base run; under each set of weights every site's
score is the mean of its cells' aggregated scores, exactly as the site table computes it,
and the sites are ranked like the table (by score, then area, then site id). It costs one
aggregation over the sites' cells per draw, a small share of the grid, instead of a site
search over all eligible land. What it cannot see is land that becomes suitable or stops
being suitable under other weights: every base site stays a site (``site_share`` is not
measured), and no new site enters the ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from geo.sites import label_stats

if TYPE_CHECKING:
    from geo.analysis import Analysis


class SiteReranker:
    """Ranks of a run's own sites under new weights, from the sub-scores of their cells.

    Cell scores are those of :func:`geo.aggregate.aggregate` (weights renormalised over the
    known sub-scores of each cell; weighted sum or weighted geometric mean), and a site's
    score is their mean, as in the site table.

    Parameters
    ----------
    analysis
        The prepared analysis (its sub-scores of eligible cells are read once).
    base_labels
        Grid of base sites, label ``k`` = row ``k - 1`` of the base site table, which is
        ordered by rank (so row order breaks ties of score and area, as the site id does).
    n_sites
        Rows of the base site table (default: the highest label).
    """

    def __init__(self, analysis: Analysis, base_labels: np.ndarray, n_sites: int | None = None) -> None:
        self.n_sites = int(base_labels.max(initial=0)) if n_sites is None else n_sites
        on_eligible = base_labels.ravel()[analysis.eligible]
        in_site = on_eligible > 0
        self._site_of = on_eligible[in_site].astype(np.int64)
        self._sizes = np.bincount(self._site_of, minlength=self.n_sites + 1)[1:]
        self._product = analysis.config.aggregation.method == "weighted_product"
        self._names = list(analysis.subscores)
        terms = np.empty((self._site_of.size, len(self._names)), dtype=np.float32)
        for j, name in enumerate(self._names):
            terms[:, j] = analysis.subscores[name][in_site]
        known = ~np.isnan(terms)
        if self._product:  # the weighted geometric mean is a weighted sum of logarithms
            with np.errstate(divide="ignore", invalid="ignore"):
                np.log(np.maximum(terms, 0, out=terms), out=terms)
            terms[np.isneginf(terms)] = np.finfo(np.float32).min
        terms[~known] = 0.0
        if self._product:  # a per-cell exponential: keep the cells
            self._terms, self._known = terms, known.astype(np.float32)
        else:
            self._pattern_sums(terms, known)

    def _pattern_sums(self, terms: np.ndarray, known: np.ndarray) -> None:
        """Per site and pattern of known criteria: cell count and sub-score sums.

        A weighted sum renormalised over the known criteria is linear within one pattern
        (its denominator is the same for every cell), so a site's mean score is a sum over
        its patterns of (sums . w) / (pattern . w), divided by its cells whose score is known.
        """
        codes = known.astype(np.int64) @ (1 << np.arange(known.shape[1], dtype=np.int64))
        patterns, pattern_of = np.unique(codes, return_inverse=True)
        groups = self.n_sites + 1
        group = pattern_of.ravel() * groups + self._site_of
        size = len(patterns) * groups
        self._patterns = ((patterns[:, None] >> np.arange(known.shape[1])) & 1).astype(np.float64)
        self._counts = np.bincount(group, minlength=size).reshape(len(patterns), groups)[:, 1:]
        self._sums = np.stack([np.bincount(group, weights=terms[:, j], minlength=size)
                               for j in range(terms.shape[1])], axis=-1).reshape(len(patterns), groups, -1)[:, 1:]

    def scores(self, weights: Mapping[str, float]) -> np.ndarray:
        """Each base site's score under ``weights``: the mean of its cells' aggregated scores (float64).

        Parameters
        ----------
        weights
            Weight of each criterion (renormalised per cell over the known sub-scores, as
            :func:`geo.aggregate.aggregate` does).

        Returns
        -------
        numpy.ndarray
            One score per base site, in row order; NaN for a site with no known score.

        Notes
        -----
        For a weighted sum the cost of a set of weights does not depend on the sites' size:
        sub-score sums per site and pattern of known criteria are taken once. For a weighted
        product the sub-scores of the sites' cells are held as one (cells x criteria) float32
        matrix, and a set of weights costs two matrix-vector products and a ``bincount``.
        """
        w = np.array([max(weights.get(name, 0.0), 0.0) for name in self._names], dtype=np.float64)
        if not (w > 0).any():
            raise ValueError("re-ranking: no criterion has a positive weight")
        if self.n_sites == 0 or self._site_of.size == 0:
            return np.full(self.n_sites, np.nan)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if not self._product:
                scored = self._patterns @ w > 0          # patterns with a known weighted criterion
                pattern_weight = self._patterns[scored] @ w
                totals = (self._sums[scored] @ w / pattern_weight[:, None]).sum(axis=0)
                return totals / self._counts[scored].sum(axis=0)
            cell = np.exp((self._terms @ w.astype(np.float32)) / (self._known @ w.astype(np.float32)))
        np.clip(cell, 0, 1, out=cell)
        return label_stats(self._site_of, cell, self.n_sites)

    def ranks(self, weights: Mapping[str, float]) -> tuple[np.ndarray, int]:
        """Rank of each base site under ``weights`` (1 = best), and the number of sites ranked.

        Parameters
        ----------
        weights
            Weight of each criterion.

        Returns
        -------
        tuple of numpy.ndarray and int
            float64 ranks in row order (never inf: every base site stays a site), and ``n_sites``.
        """
        means = self.scores(weights)
        scores = np.where(np.isnan(means), -np.inf, means)
        order = np.lexsort((np.arange(self.n_sites), -self._sizes, -scores))
        ranks = np.empty(self.n_sites)
        ranks[order] = np.arange(1, self.n_sites + 1)
        return ranks, self.n_sites
