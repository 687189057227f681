"""Aggregation: combine sub-scores into one 0-1 score per cell."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from geo.blocks import CELL_BLOCK, for_each_block

Method = Literal["weighted_sum", "weighted_product"]



def aggregate(subscores: Mapping[str, np.ndarray], weights: Mapping[str, float],
              method: Method = "weighted_sum") -> np.ndarray:
    """Weighted combination of sub-scores (each in [0, 1], NaN where unknown).

    Weights are renormalised per cell over the criteria whose sub-score is known
    there, so a missing value neither rewards nor punishes a place; a cell where
    every sub-score is unknown gets NaN.

    ``weighted_sum`` is the weighted linear combination; ``weighted_product`` the
    weighted geometric mean (a zero in any weighted criterion gives zero).

    Parameters
    ----------
    subscores
        Sub-scores by criterion name, all of one shape.
    weights
        Weight by criterion name; criteria with no positive weight are left out.
    method
        ``weighted_sum`` or ``weighted_product``.

    Returns
    -------
    numpy.ndarray
        float32 scores in [0, 1], of the sub-scores' shape.

    Raises
    ------
    ValueError
        No criterion has a positive weight.
    """
    names = [n for n in subscores if weights.get(n, 0.0) > 0]
    if not names:
        raise ValueError("aggregate: no criterion has a positive weight")
    shape = np.shape(subscores[names[0]])
    total = np.zeros(shape, dtype=np.float32)
    # where every sub-score is known on every cell, the known weight is one number: summed once
    known_everywhere = all(_never_nan(np.asarray(subscores[name])) for name in names)
    known_weight = np.zeros(() if known_everywhere else shape, dtype=np.float32)
    for name in names:
        w = np.float32(weights[name])
        values = np.asarray(subscores[name])
        if values.dtype == np.float16 and values.size > 1 << 16:
            # each float16 sub-score's share, worked out once for all 65,536 of them, then looked up
            codes = values.reshape(-1).view(np.uint16)
            share, weight = _weighted(np.arange(1 << 16, dtype=np.uint16).view(np.float16), w, method)
            _add_looked_up(codes, share, total.reshape(-1), None if known_everywhere else weight,
                           known_weight.reshape(-1))
            if known_everywhere:
                known_weight += w
        else:
            share, weight = _weighted(values, w, method)
            total += share
            known_weight += w if known_everywhere else weight
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = total / known_weight
        if method == "weighted_product":
            combined = np.exp(combined)
    combined[np.broadcast_to(known_weight == 0, shape)] = np.nan
    return np.clip(combined, 0, 1, out=combined)


def _add_looked_up(codes: np.ndarray, share: np.ndarray, total: np.ndarray, weight: np.ndarray | None,
                   known_weight: np.ndarray) -> None:
    """Add ``share`` (and ``weight``) of each float16 code to ``total`` (and ``known_weight``), block by block."""
    def add(block: slice) -> None:
        part = codes[block]
        total[block] += share[part]
        if weight is not None:
            known_weight[block] += weight[part]

    for_each_block(codes.size, add)


def _never_nan(values: np.ndarray) -> bool:
    """Whether no value is NaN: float16 values are read as bits (NaN: exponent all ones, fraction not 0)."""
    if values.dtype != np.float16:
        return not np.isnan(values).any()
    codes = values.reshape(-1).view(np.uint16)
    return not any(((codes[start:start + CELL_BLOCK] & 0x7FFF) > 0x7C00).any()
                   for start in range(0, codes.size, CELL_BLOCK))


def _weighted(subscores: np.ndarray, w: np.float32, method: Method) -> tuple[np.ndarray, np.ndarray]:
    """Each sub-score's weighted share of the total (0 where unknown; its log under a product), and its weight."""
    score = np.array(subscores, dtype=np.float32)  # a working copy, changed in place below
    known = ~np.isnan(score)
    if method == "weighted_product":
        with np.errstate(divide="ignore", invalid="ignore"):   # log(0) is -inf; unknown values are zeroed next
            np.log(np.maximum(score, 0, out=score), out=score)
    np.copyto(score, 0.0, where=~known)
    score *= w
    return score, known * w
