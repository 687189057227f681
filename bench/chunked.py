"""The chunked (Dask) analysis over Arizona, Nevada and Utah at 30 m, on the real files.

Ingests the real public files (``../shared/data/raw`` or ``--raw DIR``) into a temporary
store (or reuses ``--store``), then:

* **per tile**: computes ``--sample-tiles`` tiles of the grid one after another in one
  process (tiles spread along the grid's diagonal) and prints each one's time and the process's
  peak memory, the figures ``docs/SCALE.md`` scales from;
* **whole run**: ranks sites with every default criterion and exclusion the layers allow,
  on a local cluster of ``--workers`` processes with ``--draws`` robustness draws (100, as
  ``geo run``), in a child process, and prints the wall
  time and the peak of the memory of all processes together (the child, its scheduler
  and workers: the sum of their resident sets, sampled every half second).

    python bench/chunked.py --resolution 30 --tile-size 4096 --workers 2
    python bench/chunked.py --resolution 90 --sample-tiles 4 --skip-run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"


def child_run(store_dir: str, resolution: float, tile_size: int, workers: int, runs_dir: str, draws: int) -> dict:
    """The whole chunked run on a local cluster, with ``draws`` robustness draws; its timings and site count."""
    from geo.cluster import run
    from geo.config import load_config

    config = load_config(overrides={"resolution_m": resolution})
    start = time.perf_counter()
    result = run(config, store_dir, engine="dask", tile_size=tile_size, workers=workers, runs_dir=Path(runs_dir),
                 robustness_draws=draws)
    grid = result.record.grid
    return {"total_s": time.perf_counter() - start, "sites": len(result.sites), "timings": result.analysis.timings,
            "cells": grid.width * grid.height}


def per_tile(store_dir: str, resolution: float, tile_size: int, samples: int) -> list[dict]:
    """Time and peak memory of single tiles computed in this process."""
    from geo.chunked import tile_inputs
    from geo.config import load_config
    from geo.store import LayerStore
    from geo.tiles import compute_tile, tile_windows

    config = load_config(overrides={"resolution_m": resolution})
    inputs, _ = tile_inputs(config, LayerStore(store_dir))
    windows = tile_windows(inputs.grid, tile_size)
    rows, cols = len(windows), len(windows[0])
    # along the grid's diagonal, north-west to south-east: through Nevada, Utah and Arizona
    chosen = [windows[(2 * i + 1) * rows // (2 * samples)][(2 * i + 1) * cols // (2 * samples)] for i in range(samples)]
    out = []
    for tile in chosen:
        with PeakMemory(psutil.Process().pid) as peak:
            start = time.perf_counter()
            compute_tile(inputs, tile)
            seconds = time.perf_counter() - start
        out.append({"tile": [tile[0].start, tile[1].start], "cells": (tile[0].stop - tile[0].start) *
                    (tile[1].stop - tile[1].start), "s": round(seconds, 2), "peak_gb": round(peak.peak / 1e9, 2)})
        print(f"  tile at row {tile[0].start}, col {tile[1].start}: {seconds:.1f} s, "
              f"process peak {peak.peak / 1e9:.2f} GB", flush=True)
    return out


class PeakMemory:
    """The peak of the summed resident memory of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._total())
            if self._stop.wait(self.every_s):
                return

    def _total(self) -> int:
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--store", type=Path, help="An existing store (default: ingest --raw into a temporary one).")
    parser.add_argument("--resolution", type=float, default=30.0)
    parser.add_argument("--tile-size", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample-tiles", type=int, default=3, help="Tiles timed one by one (0: none).")
    parser.add_argument("--skip-run", action="store_true", help="Only the per-tile figures.")
    parser.add_argument("--draws", type=int, default=100, help="Robustness draws, as `geo run` (0: none).")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        store, resolution, tile, workers, runs, draws = args.child
        print(json.dumps(child_run(store, float(resolution), int(tile), int(workers), runs, int(draws)), default=str))
        return
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 1e9:.1f} GB, "
          f"load {', '.join(f'{x:.1f}' for x in psutil.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "store"
        if args.store is None:
            geo = Path(sys.executable).with_name("geo")
            subprocess.run([str(geo), "refresh", "--from", str(args.raw), "--store", str(store), "-q"], check=True)
        if args.sample_tiles:
            print(f"per tile ({args.tile_size} cells square at {args.resolution:g} m):")
            tiles = per_tile(str(store), args.resolution, args.tile_size, args.sample_tiles)
            print(f"  median {statistics.median(t['s'] for t in tiles):.1f} s per tile, "
                  f"peak {max(t['peak_gb'] for t in tiles):.2f} GB")
        if args.skip_run:
            return
        command = [sys.executable, __file__, "--child", str(store), str(args.resolution), str(args.tile_size),
                   str(args.workers), str(Path(tmp) / "runs"), str(args.draws)]
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        with PeakMemory(child.pid) as peak:
            output, _ = child.communicate()
        wall = time.perf_counter() - start
        if child.returncode:
            sys.exit(f"the chunked run failed (exit {child.returncode})")
        figures = json.loads(output.strip().splitlines()[-1])
        print(f"whole run at {args.resolution:g} m: {figures['cells']:,} cells in tiles of {args.tile_size}, "
              f"{args.workers} workers, {args.draws} robustness draws")
        print(f"  wall time {wall:.0f} s ({wall / 60:.1f} min), peak memory of all processes {peak.peak / 1e9:.2f} GB, "
              f"{figures['sites']} sites")
        for step, seconds in figures["timings"].items():
            print(f"  {step:<28} {float(seconds):8.1f} s")


if __name__ == "__main__":
    main()
