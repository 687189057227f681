"""Weight variations around a configuration's weights: Monte Carlo draws, one-at-a-time sweeps, leave-one-out.

Pure functions of the weights; :mod:`geo.reranking` and :mod:`geo.sitesearch` turn each
set of weights into ranks, and :mod:`geo.sensitivity` summarises them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def dirichlet_weights(weights: Mapping[str, float], draws: int, concentration: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Weight vectors drawn from a Dirichlet distribution centred on ``weights``.

    The parameters are ``concentration * w``: the mean of each draw is ``w`` and the
    variance of weight ``i`` is ``w_i (1 - w_i) / (concentration + 1)``, so larger
    concentrations stay closer to the configured weights. Criteria with zero weight
    stay at zero. Returns an array of shape ``(draws, len(weights))`` in the order of
    ``weights``.

    Parameters
    ----------
    weights
        The configured weight of each criterion (non-negative, positive sum).
    draws
        Number of weight vectors.
    concentration
        How tightly the draws gather around ``weights`` (positive).
    rng
        The random generator.

    Returns
    -------
    numpy.ndarray
        The draws, one weight vector (summing to one) per row.
    """
    if concentration <= 0:
        raise ValueError(f"concentration must be positive, got {concentration}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    base = np.array(list(weights.values()), dtype=np.float64)
    if (base < 0).any() or base.sum() <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {dict(weights)}")
    base = base / base.sum()
    out = np.zeros((draws, base.size))
    positive = base > 0
    if positive.sum() == 1:
        out[:, positive] = 1.0
    else:
        out[:, positive] = rng.dirichlet(concentration * base[positive], size=draws)
    return out


def swept_weights(weights: Mapping[str, float], criterion: str, change: float) -> dict[str, float]:
    """Weights with one criterion's weight changed by ``change`` (e.g. 0.25 = +25 %), others rescaled.

    The changed weight is ``w * (1 + change)`` clipped to [0, 1]; the other weights keep
    their ratios and are scaled so that all sum to one. A lone criterion stays alone
    (the aggregation renormalises, so its scores do not change).

    Parameters
    ----------
    weights
        Weight of each criterion.
    criterion
        The criterion whose weight changes.
    change
        The relative change.

    Returns
    -------
    dict[str, float]
        The new weights, summing to one.
    """
    total = sum(weights.values())
    normal = {name: w / total for name, w in weights.items()}
    old = normal[criterion]
    new = min(max(old * (1.0 + change), 0.0), 1.0)
    rest = 1.0 - old
    if rest <= 0:
        return {name: (new if name == criterion else 0.0) for name in normal}
    scale = (1.0 - new) / rest
    return {name: (new if name == criterion else w * scale) for name, w in normal.items()}


def without(weights: Mapping[str, float], criterion: str) -> dict[str, float]:
    """Weights with one criterion left out and the others renormalised.

    Parameters
    ----------
    weights
        Weight of each criterion.
    criterion
        The criterion left out.

    Returns
    -------
    dict[str, float]
        The other criteria's weights, summing to one.
    """
    rest = {name: w for name, w in weights.items() if name != criterion}
    total = sum(rest.values())
    if total <= 0:
        raise ValueError(f"cannot leave out {criterion!r}: no other criterion has a positive weight")
    return {name: w / total for name, w in rest.items()}


def sweep_changes(amplitude: float, steps: int) -> list[float]:
    """Relative weight changes of a sweep: ``steps`` evenly spaced on each side of zero, e.g. ±25 %, ±50 %.

    Parameters
    ----------
    amplitude
        The largest change, in (0, 1].
    steps
        Changes on each side of zero.

    Returns
    -------
    list[float]
        The changes from the most negative to the most positive, zero left out.
    """
    if not 0 < amplitude <= 1:
        raise ValueError(f"sweep amplitude must be in (0, 1], got {amplitude}")
    if steps < 1:
        raise ValueError(f"sweep steps must be at least 1, got {steps}")
    side = [amplitude * (i + 1) / steps for i in range(steps)]
    return [-c for c in reversed(side)] + side
