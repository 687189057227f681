"""Value functions: turn a criterion's raw value (km, score, degrees, class) into a 0-1 sub-score.

Every function is a small pydantic model, validated when a configuration is read,
and maps a NumPy array to float32 scores in [0, 1]. Missing raw values (NaN) stay
NaN: unknown is never scored as good or bad.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo.types import Direction


class _ValueFunction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            scores = np.clip(self._score(values), 0.0, 1.0).astype(np.float32)
        scores[np.isnan(values)] = np.nan
        return scores

    def _score(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Linear(_ValueFunction):
    """Straight line between ``low`` and ``high``, flat beyond them."""

    kind: Literal["linear"] = "linear"
    low: float
    high: float
    direction: Direction = "lower_is_better"

    @model_validator(mode="after")
    def _check(self) -> Linear:
        if not self.high > self.low:
            raise ValueError(f"linear: high ({self.high}) must be greater than low ({self.low})")
        return self

    def _score(self, values: np.ndarray) -> np.ndarray:
        rising = (values - self.low) / (self.high - self.low)
        return rising if self.direction == "higher_is_better" else 1.0 - rising


class Logistic(_ValueFunction):
    """S-shaped curve through 0.5 at ``midpoint``; ``steepness`` is per raw unit."""

    kind: Literal["logistic"] = "logistic"
    midpoint: float
    steepness: float = Field(gt=0)
    direction: Direction = "lower_is_better"

    def _score(self, values: np.ndarray) -> np.ndarray:
        sign = 1.0 if self.direction == "higher_is_better" else -1.0
        return 1.0 / (1.0 + np.exp(-sign * self.steepness * (values - self.midpoint)))


class Gaussian(_ValueFunction):
    """Ideal-point curve: 1 at ``ideal``, falling off with standard deviation ``width``."""

    kind: Literal["gaussian"] = "gaussian"
    ideal: float
    width: float = Field(gt=0)

    def _score(self, values: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((values - self.ideal) / self.width) ** 2)


class Piecewise(_ValueFunction):
    """Linear interpolation through ``points`` given as ``[raw, score]`` pairs, flat outside them."""

    kind: Literal["piecewise"] = "piecewise"
    points: list[tuple[float, float]] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> Piecewise:
        xs = [x for x, _ in self.points]
        if any(b <= a for a, b in pairwise(xs)):
            raise ValueError(f"piecewise: raw values must strictly increase, got {xs}")
        if any(not 0.0 <= s <= 1.0 for _, s in self.points):
            raise ValueError("piecewise: every score must lie in [0, 1]")
        return self

    def _score(self, values: np.ndarray) -> np.ndarray:
        xs, ys = zip(*self.points, strict=True)
        return np.interp(values, xs, ys)


class Threshold(_ValueFunction):
    """1 on the good side of ``threshold``, 0 on the other."""

    kind: Literal["threshold"] = "threshold"
    threshold: float
    direction: Direction = "lower_is_better"

    def _score(self, values: np.ndarray) -> np.ndarray:
        good = values >= self.threshold if self.direction == "higher_is_better" else values <= self.threshold
        return good.astype(np.float32)


class Categorical(_ValueFunction):
    """A score per class code; classes not listed get ``default``.

    Raw values are integer class codes; ``scores`` maps each code to its score.
    """

    kind: Literal["categorical"] = "categorical"
    scores: dict[int, float] = Field(min_length=1)
    default: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> Categorical:
        bad = {k: v for k, v in self.scores.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"categorical: scores must lie in [0, 1], got {bad}")
        return self

    def _score(self, values: np.ndarray) -> np.ndarray:
        out = np.full(values.shape, self.default, dtype=np.float32)
        for code, score in self.scores.items():
            out[values == code] = score
        return out


ValueFunction = Annotated[
    Linear | Logistic | Gaussian | Piecewise | Threshold | Categorical,
    Field(discriminator="kind"),
]
