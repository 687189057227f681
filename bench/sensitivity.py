"""Benchmark of weight sensitivity: time per draw on the demo region and on a three-state-sized grid.

Per draw of the ``search`` method, only the aggregation and the site selection are redone
(see :mod:`geo.sitesearch`); the ``rerank`` method (:mod:`geo.reranking`) is timed beside it.
The three-state case is a synthetic :class:`~geo.analysis.Analysis`
of about 4,400 x 5,200 cells (AZ, NV and UT at 250 m) whose sub-scores are smoothed
random fields, so that suitable land comes in regions of realistic size.

Run from the repository root::

    .venv/bin/python bench/sensitivity.py                    # both cases
    .venv/bin/python bench/sensitivity.py --skip-demo --draws 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage, special

from geo.analysis import Analysis
from geo.api import run
from geo.config import Config, SiteRules
from geo.demo import build_demo_store
from geo.exclusions import ExclusionMap
from geo.grid import Grid
from geo.sensitivity import SiteFollower, SiteReranker, dirichlet_weights, follow_draws, sensitivity

#: Cells of AZ, NV and UT at 250 m (EPSG:5070 bounding box of the three states).
THREE_STATE_SHAPE = (4400, 5200)


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], coarse: int, sigma: float) -> np.ndarray:
    """A smoothed random field mapped through the normal distribution onto [0, 1] (float32)."""
    small = rng.standard_normal((shape[0] // coarse + 2, shape[1] // coarse + 2)).astype(np.float32)
    small = ndimage.gaussian_filter(small, sigma)
    small /= small.std()
    field = ndimage.zoom(small, coarse, order=1)[: shape[0], : shape[1]]
    return special.ndtr(field).astype(np.float32)


def synthetic_analysis(shape: tuple[int, int], eligible_share: float, suitable_share: float,
                       seed: int) -> Analysis:
    """An analysis of ``shape`` cells at 250 m whose site threshold leaves ``suitable_share`` of eligible cells."""
    rng = np.random.default_rng(seed)
    grid = Grid.covering((0.0, 0.0, shape[1] * 250.0, shape[0] * 250.0), 250.0)
    eligible_mask = smooth_field(rng, shape, 16, 3.0) < eligible_share
    eligible = np.flatnonzero(eligible_mask)
    config = Config()
    subscores = {c.name: smooth_field(rng, shape, 8, 2.0).ravel()[eligible] for c in config.criteria}
    analysis = Analysis(
        config=config, grid=grid,
        exclusions=ExclusionMap((~eligible_mask).astype(np.uint16), ["synthetic"], {"synthetic": "synthetic"}),
        criteria=list(config.criteria), raw={}, layers={}, provenance={}, eligible=eligible, subscores=subscores,
    )
    threshold = float(np.quantile(analysis.cell_scores(), 1.0 - suitable_share))
    analysis.config = config.model_copy(update={"sites": SiteRules(min_cell_score=threshold)})
    return analysis


def bench_three_states(draws: int, seed: int, workers: int) -> None:
    start = time.perf_counter()
    analysis = synthetic_analysis(THREE_STATE_SHAPE, eligible_share=0.45, suitable_share=0.3, seed=seed)
    print(f"three-state grid {analysis.grid.width} x {analysis.grid.height} "
          f"({analysis.grid.width * analysis.grid.height / 1e6:.1f} M cells, {analysis.eligible.size / 1e6:.1f} M "
          f"eligible), built in {time.perf_counter() - start:.1f} s")
    base = analysis.site_labels(analysis.cell_scores())
    follower = SiteFollower(analysis, base)
    print(f"base run: {follower.n_sites} sites")
    weights = dirichlet_weights(analysis.weights, draws, 100.0, np.random.default_rng(seed))
    names = list(analysis.weights)
    times, parts = [], {"aggregate": [], "find_sites": []}
    for i, row in enumerate(weights):
        w = dict(zip(names, row.tolist(), strict=True))
        start = time.perf_counter()
        follower.ranks(w)
        times.append(time.perf_counter() - start)
        if i < 3:  # break the first draws down into their two main steps
            t0 = time.perf_counter()
            cell = analysis.cell_scores(w)
            t1 = time.perf_counter()
            analysis.site_labels(cell)
            parts["aggregate"].append(t1 - t0)
            parts["find_sites"].append(time.perf_counter() - t1)
    per_draw = statistics.median(times)
    print(f"search: median per draw: {per_draw:.2f} s (of which aggregation "
          f"{statistics.median(parts['aggregate']):.2f} s, site search {statistics.median(parts['find_sites']):.2f} s) "
          f"over {draws} draws")
    print(f"search: projected 1,000 draws: {1000 * per_draw / 60:.1f} min")
    start = time.perf_counter()
    reranker = SiteReranker(analysis, base)
    setup = time.perf_counter() - start
    fast = []
    for row in weights:
        start = time.perf_counter()
        reranker.ranks(dict(zip(names, row.tolist(), strict=True)))
        fast.append(time.perf_counter() - start)
    print(f"rerank: set-up {setup:.2f} s, median per draw {statistics.median(fast) * 1000:.1f} ms "
          f"({per_draw / statistics.median(fast):,.0f} x faster than a site search)")
    if workers > 1:
        start = time.perf_counter()
        follow_draws(follower, names, weights, workers=workers)
        shared = (time.perf_counter() - start) / draws
        print(f"with {workers} worker processes: {shared:.2f} s per draw, "
              f"projected 1,000 draws: {1000 * shared / 60:.1f} min")


def bench_demo(draws: int, seed: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = build_demo_store(Path(tmp) / "demo")
        result = run(store=store, runs_dir=None)
        grid = result.analysis.grid
        start = time.perf_counter()
        outcome = sensitivity(result, draws=draws, seed=seed, workers=workers)
        total = time.perf_counter() - start
    timings = outcome.settings["timings"]
    print(f"demo region {grid.width} x {grid.height} cells, {len(result.sites)} sites, {workers} process(es): "
          f"{draws} draws in "
          f"{timings['draws_s']:.1f} s ({timings['per_draw_s'] * 1000:.0f} ms per draw), sweeps and "
          f"leave-one-out {timings['sweeps_s']:.1f} s, total {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=20, help="draws timed on the three-state grid")
    parser.add_argument("--demo-draws", type=int, default=1000, help="draws of the full analysis on the demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="processes for the demo run and the parallel three-state timing")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-three-states", action="store_true")
    args = parser.parse_args()
    if not args.skip_demo:
        bench_demo(args.demo_draws, args.seed, args.workers)
    if not args.skip_three_states:
        bench_three_states(args.draws, args.seed, args.workers)


if __name__ == "__main__":
    main()
