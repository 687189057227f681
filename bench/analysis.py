"""Speed and memory of the full analysis over Arizona, Nevada and Utah, beside atlite as a yardstick.

Ingests the real public files (``../shared/data/raw`` or ``--raw DIR``) into a temporary
store, then runs, each in a fresh process so that peak memory is its own:

* the full analysis (every default criterion and exclusion, stored layers to ranked
  sites) at each ``--resolution``;
* atlite's ``ExclusionContainer`` answering only "within 20 km of a >=345 kV line and
  outside national parks" at 100 m over the same states.

Prints wall time per step, the median over ``--repeat`` runs, peak memory, which rasters
the run computed and which it reused, and the ratio of each full analysis to the atlite
pass, beside the targets (90 m: at most 25 atlite passes, peak under 3.5 GB).

    python bench/analysis.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"


def child_analysis(store_dir: str, resolution: float) -> dict:
    """One full analysis; timings per step and peak memory of this process."""
    from geo.analysis import prepare
    from geo.api import rank
    from geo.config import load_config
    from geo.store import LayerStore

    config = load_config(overrides={"resolution_m": resolution})
    start = time.perf_counter()
    analysis = prepare(config, LayerStore(store_dir))
    sites_start = time.perf_counter()
    sites, _, _ = rank(analysis)
    timings = dict(analysis.timings, sites=time.perf_counter() - sites_start)
    return {"timings": timings, "total_s": time.perf_counter() - start, "sites": len(sites),
            "cells": analysis.grid.width * analysis.grid.height, "peak_mb": _peak_mb(),
            "rasters": analysis.raster_counts}


def child_atlite(store_dir: str) -> dict:
    """atlite's exclusion pass: within 20 km of a >=345 kV line and outside national parks, at 100 m."""
    import geopandas as gpd
    from atlite.gis import ExclusionContainer, shape_availability

    from geo.gridstrength import effective_voltage_kv
    from geo.store import LayerStore

    store = LayerStore(store_dir)
    states = store.read("states").to_crs(5070)
    lines = store.read("transmission").to_crs(5070)
    parks = store.read("protected").to_crs(5070)
    lines = gpd.GeoDataFrame(geometry=lines.geometry[effective_voltage_kv(lines) >= 345], crs=5070)
    parks = gpd.GeoDataFrame(geometry=parks.geometry[parks["designation"].str.contains("Park", na=False)], crs=5070)
    start = time.perf_counter()
    excluder = ExclusionContainer(crs=5070, res=100)
    excluder.add_geometry(lines, buffer=20_000, invert=True)  # a GeoDataFrame: atlite ignores buffer on a GeoSeries
    excluder.add_geometry(parks)
    masked, _ = shape_availability(gpd.GeoSeries([states.union_all()], crs=5070), excluder)
    available = int(masked.sum())
    return {"total_s": time.perf_counter() - start, "available_cells": available, "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spawn(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="directory of the real public files")
    parser.add_argument("--resolution", type=float, nargs="+", default=[250.0, 90.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-atlite", action="store_true", help="skip the atlite yardstick")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, store_dir, *rest = args.child
        result = child_analysis(store_dir, float(rest[0])) if kind == "analysis" else child_atlite(store_dir)
        print(json.dumps(result))
        return
    if not args.raw.is_dir():
        sys.exit(f"no public files at {args.raw}; pass --raw DIR (see geo refresh --from)")

    from geo.refresh import refresh
    from geo.store import LayerStore

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        outcomes = refresh(LayerStore(tmp), from_dir=args.raw)
        print(f"ingest {args.raw}: {time.perf_counter() - start:.1f} s, "
              f"{sum(o.status == 'ok' for o in outcomes)} layers")
        medians: dict[float, float] = {}
        for res in args.resolution:
            runs = [_spawn("analysis", tmp, str(res)) for _ in range(args.repeat)]
            medians[res] = statistics.median(r["total_s"] for r in runs)
            print(f"\nfull analysis at {res:g} m: {runs[0]['cells'] / 1e6:.0f} M cells, {runs[0]['sites']} sites")
            for step in runs[0]["timings"]:
                print(f"  {step:<26} {statistics.median(r['timings'][step] for r in runs):7.2f} s")
            print(f"  {'total (median of ' + str(len(runs)) + ')':<26} {medians[res]:7.2f} s   "
                  f"peak {max(r['peak_mb'] for r in runs):,.0f} MB")
            print(f"  rasters computed / reused: {runs[0]['rasters']}")
        if args.no_atlite:
            return
        yard = [_spawn("atlite", tmp) for _ in range(args.repeat)]
        atlite_s = statistics.median(r["total_s"] for r in yard)
        print(f"\natlite ExclusionContainer, 100 m, >=345 kV within 20 km, outside national parks: "
              f"{atlite_s:.2f} s (median of {len(yard)}), peak {max(r['peak_mb'] for r in yard):,.0f} MB")
        for res, seconds in medians.items():
            target = "   (target at 90 m: at most 25 passes, peak under 3,500 MB)" if res == 90 else ""
            print(f"full analysis at {res:g} m = {seconds / atlite_s:.1f} atlite passes{target}")


if __name__ == "__main__":
    main()
