"""Speed and memory of the labour-pool and grid-strength criteria on a synthetic three-state extent.

Builds a 1,100 km x 1,000 km extent in EPSG:5070 with 60 square counties, 50 places (20 of
them in urban areas), 300 power plants, 500 substations and 2,000 lines, then times
``labour_pool``, ``capacity_within`` and ``substation_line_count`` onto a 250 m analysis
grid (and a 90 m one with ``--resolution 250 90``). Each run is a fresh process, so the
peak memory printed is that step's own; the time excludes building the layers.

    python bench/criteria_cost.py --repeat 3 --resolution 250 90
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

EXTENT = (-2_000_000.0, 1_000_000.0, -900_000.0, 2_000_000.0)  # 1,100 km x 1,000 km
STEPS = ("labour_pool", "capacity_within", "substation_line_count")
BYTES_PER_CELL = 8  # the float32 result and as much again for a working copy


def synthetic_layers(seed: int = 0) -> dict:
    """Counties, places, urban areas, plants, substations and lines over :data:`EXTENT` (EPSG:5070)."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import LineString, Point, box

    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = EXTENT
    crs = "EPSG:5070"

    def points(n: int) -> np.ndarray:
        return np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])

    centres = [(minx + (i + 0.5) * 110_000, miny + (j + 0.5) * 166_667) for i in range(10) for j in range(6)]
    sides = rng.uniform(100_000, 170_000, len(centres))
    counties = gpd.GeoDataFrame(
        {"geoid": [f"{i:05d}" for i in range(len(centres))], "population": rng.lognormal(11, 1.5, len(centres))},
        geometry=[box(x - s / 2, y - s / 2, x + s / 2, y + s / 2)
                  for (x, y), s in zip(centres, sides, strict=True)],
        crs=crs,
    )
    counties.loc[[3, 41], "population"] = np.nan
    place_xy = points(50)
    places = gpd.GeoDataFrame({"name": [f"P{i}" for i in range(50)], "population": rng.lognormal(10, 1.5, 50)},
                              geometry=[Point(x, y) for x, y in place_xy], crs=crs)
    urban = gpd.GeoDataFrame(geometry=[Point(x, y).buffer(r) for (x, y), r in
                                       zip(place_xy[:20], rng.uniform(5_000, 20_000, 20), strict=True)], crs=crs)
    plants = gpd.GeoDataFrame({"name": [f"G{i}" for i in range(300)], "capacity_mw": rng.uniform(1, 3000, 300)},
                              geometry=[Point(x, y) for x, y in points(300)], crs=crs)
    plants.loc[::50, "capacity_mw"] = np.nan
    station_xy = points(500)
    substations = gpd.GeoDataFrame({"name": [f"S{i}" for i in range(500)]},
                                   geometry=[Point(x, y) for x, y in station_xy], crs=crs)
    starts = station_xy[rng.integers(0, 500, 2000)]
    ends = starts + rng.normal(0, 50_000, (2000, 2))
    lines = gpd.GeoDataFrame({"voltage_kv": rng.choice([69.0, 115.0, 138.0, 230.0, 345.0, 500.0, np.nan], 2000),
                              "voltage_class": rng.choice(["100-161", "345", "500", "DC"], 2000)},
                             geometry=[LineString([a, b]) for a, b in zip(starts, ends, strict=True)], crs=crs)
    return {"counties": counties, "places": places, "urban": urban, "plants": plants,
            "substations": substations, "lines": lines}


def child(step: str, resolution: float) -> dict:
    """One timed call of ``step`` onto a grid of ``resolution`` metres; time and peak memory."""
    from geo.grid import Grid
    from geo.gridstrength import capacity_within, substation_line_count
    from geo.labour import labour_pool

    layers = synthetic_layers()
    grid = Grid.covering(EXTENT, resolution)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if step == "labour_pool":
        result = labour_pool(layers["counties"], grid, urban=layers["urban"], places=layers["places"]).people_within
    elif step == "capacity_within":
        result = capacity_within(layers["plants"], grid).capacity_mw
    else:
        result = substation_line_count(layers["substations"], layers["lines"], grid, min_voltage_kv=345)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "before_mb": before_mb,
            "cells": grid.width * grid.height, "dtype": str(result.dtype)}


def available_bytes() -> int:
    """Memory available to a new process now."""
    try:
        import psutil
    except ImportError:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return psutil.virtual_memory().available


def spawn(step: str, resolution: float) -> dict:
    """Run :func:`child` in a fresh process; an error (say, killed for memory) comes back as a message."""
    out = subprocess.run([sys.executable, __file__, "--child", step, str(resolution)], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": f"exit {out.returncode}: {(out.stderr.strip().splitlines() or ['killed'])[-1]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, nargs="+", default=[250.0],
                        help="analysis grid cell sizes (m); 250 is always measured")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], float(args.child[1]))))
        return
    from geo.grid import Grid

    for resolution in sorted({250.0, *args.resolution}, reverse=True):
        grid = Grid.covering(EXTENT, resolution)
        cells = grid.width * grid.height
        need, have = cells * BYTES_PER_CELL, available_bytes()
        print(f"\n{resolution:g} m: {grid.width:,} x {grid.height:,} = {cells / 1e6:.0f} M cells, "
              f"about {need / 2**30:.1f} GiB needed per step, {have / 2**30:.1f} GiB available")
        if need > have:
            print("  skipped: not enough memory for this grid on this machine")
            continue
        for step in STEPS:
            runs = [spawn(step, resolution) for _ in range(args.repeat)]
            failed = [r["error"] for r in runs if "error" in r]
            if failed:
                print(f"  {step:<24} failed: {failed[0]}")
                continue
            print(f"  {step:<24} {statistics.median(r['seconds'] for r in runs):7.2f} s (median of {len(runs)})"
                  f"   peak {max(r['peak_mb'] for r in runs):,.0f} MB"
                  f" ({statistics.median(r['before_mb'] for r in runs):,.0f} MB before the call)")


if __name__ == "__main__":
    main()
