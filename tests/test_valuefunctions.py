"""Value functions: known values, bounds and monotonicity (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from geo.valuefunctions import Categorical, Gaussian, Linear, Logistic, Piecewise, Threshold

finite = st.floats(-1e4, 1e4, allow_nan=False)
values = st.lists(finite, min_size=2, max_size=50).map(lambda v: np.sort(np.array(v, dtype=np.float32)))


def test_linear_known_values() -> None:
    f = Linear(low=0, high=10, direction="lower_is_better")
    assert f(np.array([-5, 0, 5, 10, 20])).tolist() == [1.0, 1.0, 0.5, 0.0, 0.0]


def test_logistic_is_half_at_midpoint() -> None:
    assert Logistic(midpoint=15, steepness=0.3)(np.array([15.0]))[0] == pytest.approx(0.5)


def test_gaussian_peaks_at_ideal() -> None:
    f = Gaussian(ideal=25, width=10)
    scores = f(np.array([5.0, 25.0, 45.0]))
    assert scores[1] == pytest.approx(1.0)
    assert scores[0] == pytest.approx(scores[2])


def test_piecewise_interpolates_table() -> None:
    f = Piecewise(points=[(0, 1.0), (10, 0.6), (30, 0.0)])
    assert f(np.array([5.0, 20.0, 99.0])).tolist() == pytest.approx([0.8, 0.3, 0.0])


def test_threshold_and_categorical() -> None:
    assert Threshold(threshold=3, direction="lower_is_better")(np.array([2.0, 3.0, 4.0])).tolist() == [1, 1, 0]
    f = Categorical(scores={1: 1.0, 2: 0.25}, default=0.1)
    assert f(np.array([1.0, 2.0, 7.0])).tolist() == pytest.approx([1.0, 0.25, 0.1])


def test_missing_values_stay_missing() -> None:
    for f in (Linear(low=0, high=1), Logistic(midpoint=0, steepness=1), Gaussian(ideal=0, width=1),
              Piecewise(points=[(0, 0), (1, 1)]), Threshold(threshold=0), Categorical(scores={1: 1})):
        assert np.isnan(f(np.array([np.nan]))[0])


@pytest.mark.parametrize("bad", [
    {"kind": "linear", "low": 5, "high": 5},
    {"kind": "logistic", "midpoint": 1, "steepness": 0},
    {"kind": "gaussian", "ideal": 1, "width": -1},
    {"kind": "piecewise", "points": [[0, 1], [0, 0]]},
    {"kind": "piecewise", "points": [[0, 1.5], [1, 0]]},
    {"kind": "categorical", "scores": {1: 2.0}},
])
def test_impossible_parameters_are_rejected(bad: dict) -> None:
    from pydantic import TypeAdapter

    from geo.valuefunctions import ValueFunction

    with pytest.raises(ValidationError):
        TypeAdapter(ValueFunction).validate_python(bad)


@given(values, finite, st.floats(1e-3, 1e3), st.sampled_from(["lower_is_better", "higher_is_better"]))
def test_linear_and_logistic_bounded_and_monotone(x: np.ndarray, low: float, span: float, direction: str) -> None:
    for f in (Linear(low=low, high=low + span, direction=direction),
              Logistic(midpoint=low, steepness=1 / span, direction=direction)):
        s = f(x)
        assert ((s >= 0) & (s <= 1)).all()
        steps = np.diff(s.astype(np.float64))
        assert (steps <= 1e-6).all() if direction == "lower_is_better" else (steps >= -1e-6).all()


@given(values, st.lists(st.tuples(finite, st.floats(0, 1)), min_size=2, max_size=6, unique_by=lambda p: p[0]))
def test_piecewise_bounded(x: np.ndarray, points: list[tuple[float, float]]) -> None:
    s = Piecewise(points=sorted(points))(x)
    assert ((s >= 0) & (s <= 1)).all()


@given(values, finite, st.floats(1e-2, 1e3))
def test_gaussian_falls_away_from_ideal(x: np.ndarray, ideal: float, width: float) -> None:
    s = Gaussian(ideal=ideal, width=width)(x)
    assert ((s >= 0) & (s <= 1)).all()
    right = x >= ideal
    assert (np.diff(s[right].astype(np.float64)) <= 1e-6).all()
