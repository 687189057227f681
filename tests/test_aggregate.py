"""Aggregation: weighted sum and product, missing values, and property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.aggregate import aggregate

unit = st.floats(0, 1, allow_nan=False, width=32)


def test_weighted_sum_known_answer() -> None:
    out = aggregate({"a": np.array([1.0, 0.0]), "b": np.array([0.0, 0.5])}, {"a": 0.75, "b": 0.25})
    assert out.tolist() == pytest.approx([0.75, 0.125])


def test_weighted_product_is_geometric_mean() -> None:
    out = aggregate({"a": np.array([0.25]), "b": np.array([1.0])}, {"a": 0.5, "b": 0.5}, "weighted_product")
    assert out[0] == pytest.approx(0.5)
    zero = aggregate({"a": np.array([0.0]), "b": np.array([1.0])}, {"a": 0.5, "b": 0.5}, "weighted_product")
    assert zero[0] == 0.0


def test_missing_subscore_renormalises_weights() -> None:
    out = aggregate({"a": np.array([np.nan, np.nan]), "b": np.array([0.4, np.nan])}, {"a": 0.5, "b": 0.5})
    assert out[0] == pytest.approx(0.4)
    assert np.isnan(out[1])


def test_zero_weights_rejected() -> None:
    with pytest.raises(ValueError, match="positive weight"):
        aggregate({"a": np.array([0.5])}, {"a": 0.0})


@given(st.lists(st.tuples(unit, unit), min_size=1, max_size=20), unit, st.floats(0.01, 1),
       st.sampled_from(["weighted_sum", "weighted_product"]))
def test_bounded_and_monotone(pairs: list[tuple[float, float]], bump: float, w: float, method: str) -> None:
    a = np.array([p[0] for p in pairs], dtype=np.float32)
    b = np.array([p[1] for p in pairs], dtype=np.float32)
    weights = {"a": w, "b": 1.0 - w + 0.01}
    base = aggregate({"a": a, "b": b}, weights, method)
    assert ((base >= 0) & (base <= 1)).all()
    better = aggregate({"a": np.minimum(a + bump, 1), "b": b}, weights, method)
    assert (better >= base - 1e-6).all()


@pytest.mark.parametrize("method", ["weighted_sum", "weighted_product"])
def test_float16_sub_scores_are_combined_through_tables_with_the_same_result(method) -> None:
    rng = np.random.default_rng(0)
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)   # NaN, infinities and negatives too
    subscores = {name: np.concatenate([rng.permutation(every), rng.random(50_000).astype(np.float16)])
                 for name in ("a", "b", "c")}
    subscores["b"][::3] = np.float16(0.0)
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    by_table = aggregate(subscores, weights, method)
    direct = aggregate({k: v.astype(np.float32) for k, v in subscores.items()}, weights, method)
    assert np.array_equal(by_table, direct, equal_nan=True)


def test_sub_scores_known_everywhere_share_one_known_weight() -> None:
    rng = np.random.default_rng(1)
    weights = {"a": 0.5, "b": 0.3, "c": 0.2}
    subscores = {name: rng.random(100_000).astype(np.float16) for name in weights}
    total = np.zeros(100_000, dtype=np.float32)
    known_weight = np.float32(0)
    for name, w in weights.items():
        total += subscores[name].astype(np.float32) * np.float32(w)
        known_weight += np.float32(w)
    assert np.array_equal(aggregate(subscores, weights), total / known_weight)
    subscores["a"][7] = np.nan  # one unknown sub-score: that cell alone renormalises over b and c
    mixed = aggregate(subscores, weights)
    b, c = (float(subscores[n][7]) for n in "bc")
    assert mixed[7] == pytest.approx((0.3 * b + 0.2 * c) / 0.5, rel=1e-6)
    assert np.array_equal(np.delete(mixed, 7), np.delete(total / known_weight, 7))
