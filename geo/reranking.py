"""Re-rank the base sites under new weights from their own cells' sub-scores, without searching for sites again.

The fast method of :mod:`geo.sensitivity`, and the one ``geo run`` uses for its robustness
columns. The sites stay the sites of the base run; under each set of weights every site's
score is the mean of its cells' aggregated scores, exactly as the site table computes it,
and the sites are ranked like the table (by score, then area, then site id). It costs one
aggregation over the sites' cells per draw, a small share of the grid, instead of a site
search over all eligible land. What it cannot see is land that becomes suitable or stops
being suitable under other weights: every base site stays a site (``site_share`` is not
measured), and no new site enters the ranking.

What re-ranking needs of the sites' cells is a :class:`SiteTerms`: for a weighted sum, per
site and pattern of known criteria, the cell count and sub-score sums; for a weighted
product, each cell's logarithms. The in-memory path reduces the whole grid to it at once;
the chunked path (:mod:`geo.chunked`) reduces each region on its worker and joins the parts
(:meth:`SiteTerms.join`), so both re-rank the same numbers in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from geo.analysis import Analysis


@dataclass(frozen=True)
class SiteTerms:
    """The sites' cells reduced to what their scores under any weights need, one row per group of cells.

    A weighted sum renormalised over the known criteria is linear within one pattern of
    known criteria (its denominator is the same for every cell), so a group is a site's
    cells of one pattern and its row holds their sub-score sums: the group's summed score
    is (sums . w) / (pattern . w). A weighted geometric mean is a per-cell exponential of
    such a ratio of logarithms, so under ``product`` a group is one cell and its row holds
    the logarithms of its sub-scores (unknown ones 0). Rows are ordered by site, then by
    pattern (sum) or cell (product), whichever way the cells were split before.

    Attributes
    ----------
    names
        The criteria, in the column order of ``sums``.
    n_sites
        Sites (rows of the site table); ``site`` indexes them from 0.
    product
        Whether the cells aggregate by weighted product (``weighted_product``).
    site
        Site of each group (int64).
    pattern
        Known criteria of each group as bits (bit ``j``: criterion ``j`` known; int64).
    counts
        Cells in each group (int64).
    sums
        Sub-score sums of each group (float64), or the cell's logarithms (float32), ``(groups, criteria)``.
    """

    names: tuple[str, ...]
    n_sites: int
    product: bool
    site: np.ndarray
    pattern: np.ndarray
    counts: np.ndarray
    sums: np.ndarray

    @classmethod
    def from_cells(cls, names: Sequence[str], site: np.ndarray, subscores: np.ndarray, n_sites: int,
                   product: bool) -> SiteTerms:
        """Reduce the sub-scores of the sites' cells.

        Parameters
        ----------
        names
            The criteria, in the column order of ``subscores``.
        site
            Site of each cell, from 0; cells of one site in grid (row-major) order.
        subscores
            Sub-scores of the cells, ``(cells, criteria)``, NaN where unknown.
        n_sites
            Sites of the table (at least ``site.max() + 1``).
        product
            Whether the cells aggregate by weighted product.

        Returns
        -------
        SiteTerms
            The groups, ordered by site.
        """
        site = np.asarray(site, dtype=np.int64)
        terms = np.array(subscores, dtype=np.float32).reshape(site.size, len(names))
        known = ~np.isnan(terms)
        pattern = known.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
        if product:  # the weighted geometric mean is a weighted sum of logarithms
            with np.errstate(divide="ignore", invalid="ignore"):
                np.log(np.maximum(terms, 0, out=terms), out=terms)
            terms[np.isneginf(terms)] = np.finfo(np.float32).min
            terms[~known] = 0.0
            order = np.argsort(site, kind="stable")
            return cls(tuple(names), n_sites, True, site[order], pattern[order], np.ones(site.size, dtype=np.int64),
                       terms[order])
        terms[~known] = 0.0
        keys, group = np.unique(site << len(names) | pattern, return_inverse=True)
        sums = np.stack([np.bincount(group, weights=terms[:, j], minlength=keys.size) for j in range(len(names))],
                        axis=-1).reshape(keys.size, len(names))
        return cls(tuple(names), n_sites, False, keys >> len(names), keys & ((1 << len(names)) - 1),
                   np.bincount(group, minlength=keys.size), sums)

    @classmethod
    def join(cls, parts: Sequence[SiteTerms], order: np.ndarray) -> SiteTerms:
        """The parts of several sets of sites as one, their sites renumbered to the rows of the site table.

        Parameters
        ----------
        parts
            One part per set of sites (e.g. per region), all of the same criteria and aggregation.
        order
            For each row of the site table, its site in the parts taken one after the
            other (part 0's sites first); e.g. the order in which the table was sorted.

        Returns
        -------
        SiteTerms
            Groups ordered by their new site, each site's groups in the order of its part.
        """
        first = parts[0]
        offsets = np.cumsum([0] + [p.n_sites for p in parts[:-1]])
        row_of = np.empty(len(order), dtype=np.int64)
        row_of[order] = np.arange(len(order))
        site = row_of[np.concatenate([p.site + offset for p, offset in zip(parts, offsets, strict=True)])]
        moved = np.argsort(site, kind="stable")
        pattern, counts, sums = (np.concatenate([getattr(p, name) for p in parts])[moved]
                                 for name in ("pattern", "counts", "sums"))
        return cls(first.names, len(order), first.product, site[moved], pattern, counts, sums)


class SiteReranker:
    """Ranks of a run's own sites under new weights, from the sub-scores of their cells.

    Cell scores are those of :func:`geo.aggregate.aggregate` (weights renormalised over the
    known sub-scores of each cell; weighted sum or weighted geometric mean), and a site's
    score is their mean, as in the site table. :meth:`from_terms` builds one from a
    :class:`SiteTerms` directly, as the chunked path does.

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
        on_eligible = base_labels.ravel()[analysis.eligible]
        in_site = np.flatnonzero(on_eligible)  # positions among the eligible cells: a small share of them
        names = list(analysis.subscores)
        subscores = np.column_stack([analysis.subscores[name][in_site] for name in names])
        self._use(SiteTerms.from_cells(
            names, on_eligible[in_site].astype(np.int64) - 1, subscores,
            int(base_labels.max(initial=0)) if n_sites is None else n_sites,
            analysis.config.aggregation.method == "weighted_product"))

    @classmethod
    def from_terms(cls, terms: SiteTerms) -> SiteReranker:
        """A re-ranker of the sites whose cells ``terms`` reduces (no grid needed).

        Parameters
        ----------
        terms
            The sites' cells, reduced (e.g. region by region, then joined).

        Returns
        -------
        SiteReranker
            The re-ranker, scoring exactly as one built from the cells on the grid.
        """
        reranker = cls.__new__(cls)
        reranker._use(terms)
        return reranker

    def _use(self, terms: SiteTerms) -> None:
        self.n_sites = terms.n_sites
        self._terms = terms
        self._sizes = np.bincount(terms.site, weights=terms.counts, minlength=self.n_sites)
        patterns, self._pattern_of = np.unique(terms.pattern, return_inverse=True)
        self._patterns = ((patterns[:, None] >> np.arange(len(terms.names))) & 1).astype(np.float64)

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
        product the logarithms of the sites' cells are held as one (cells x criteria) float32
        matrix, and a set of weights costs a matrix-vector product and two ``bincount``.
        """
        terms = self._terms
        w = np.array([max(weights.get(name, 0.0), 0.0) for name in terms.names], dtype=np.float64)
        if not (w > 0).any():
            raise ValueError("re-ranking: no criterion has a positive weight")
        known_weight = (self._patterns @ w)[self._pattern_of]
        scored = known_weight > 0  # groups with a known weighted criterion
        with np.errstate(over="ignore"):
            value = (terms.sums[scored] @ w.astype(terms.sums.dtype)) / known_weight[scored]
            if terms.product:  # one cell per group: its score
                value = np.clip(np.exp(value), 0, 1)
        totals = np.bincount(terms.site[scored], weights=value, minlength=self.n_sites)
        cells = np.bincount(terms.site[scored], weights=terms.counts[scored], minlength=self.n_sites)
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals / cells

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
