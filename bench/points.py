"""Speed and memory of point queries: a few places after loading, and a million places through `geo score -o`.

Uses the real public files (``../shared/data/raw`` or ``--raw DIR``, ingested into a
temporary store) when they are present, else the synthetic demo region. Each
measurement runs in a fresh process, so that its peak memory is its own; peak
resident memory is sampled with psutil. Prints, side by side from one run:

* loading the layers and indexes for point queries (median of ``--repeat``);
* scoring 3 places after loading (median of ``--repeat``), and the same 3 places
  through the grid (``prepare`` then look-ups), as the raster path answers them;
* ``geo score -q -o`` on 100,000 and on 1,000,000 random places over the states
  (CSV in, Parquet out): wall time and peak memory, which should barely grow with the
  number of places since they are read, scored and written in chunks.

    python bench/points.py --repeat 3

Measured on the real files (2 shared cores, 30 November 2026): loading 3.3 s; 3 places
(two scored, one excluded) 33 ms after loading (25 ms again), against 34.3 s for the
same 3 places through the 250 m grid; 100,000 places 20-22 s, peak 510 MB; 1,000,000
places 118.9 s, peak 603 MB (before: 266 s and 3.4 GB with ``-o -q``, 1,107 s and 8 GB
printing the whole table).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"
#: Three places: the Dry Lake solar energy zone (NV) and the Tonopah Desert west of Phoenix (AZ), both
#: BLM land, and downtown Phoenix, which is excluded.
PLACES = {"lon": [-114.87, -112.95, -112.07], "lat": [36.45, 33.42, 33.45]}


class PeakMemory:
    """Peak resident memory (MB) of this process, sampled every 20 ms with psutil."""

    def __enter__(self) -> PeakMemory:
        import psutil

        self._process = psutil.Process()
        self.peak_mb = self._process.memory_info().rss / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)


def child_few(store_dir: str, with_grid: bool) -> dict:
    """Load for point queries, then score the 3 places; optionally the same through the grid."""
    import geopandas as gpd

    from geo.api import resolve
    from geo.placescores import score_places_from_layers
    from geo.pointquery import PointScorer
    from geo.store import LayerStore

    places = gpd.GeoDataFrame(PLACES, geometry=gpd.points_from_xy(PLACES["lon"], PLACES["lat"]), crs=4326)
    config, store = resolve(None, LayerStore(store_dir))
    start = time.perf_counter()
    scorer = PointScorer.load(config, store)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    scored = score_places_from_layers(scorer, places)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    score_places_from_layers(scorer, places)
    result = {"load_s": load_s, "first_s": first_s, "again_s": time.perf_counter() - start,
              "status": list(scored["status"])}
    if with_grid:
        from geo.analysis import prepare
        from geo.query import score_places

        start = time.perf_counter()
        score_places(prepare(config, store), places)
        result["grid_s"] = time.perf_counter() - start
    return result


def child_many(store_dir: str, csv_path: str, out_path: str) -> dict:
    """`geo score -q -o` on a CSV of places: wall time and peak memory."""
    from geo.cli import cli

    with PeakMemory() as memory:
        start = time.perf_counter()
        cli(["score", "--points", csv_path, "--store", store_dir, "-o", out_path, "-qq"], standalone_mode=False)
        seconds = time.perf_counter() - start
    return {"total_s": seconds, "peak_mb": memory.peak_mb}


def _spawn(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _random_places(store_dir: str, n: int, path: Path, seed: int = 0) -> None:
    """A CSV of ``n`` places spread uniformly over the bounding box of the store's states."""
    import numpy as np
    import pandas as pd

    from geo.store import LayerStore

    minx, miny, maxx, maxy = LayerStore(store_dir).read("states").total_bounds
    rng = np.random.default_rng(seed)
    pd.DataFrame({"id": np.arange(n), "lon": rng.uniform(minx, maxx, n).round(5),
                  "lat": rng.uniform(miny, maxy, n).round(5)}).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="directory of the real public files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--places", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-grid", action="store_true", help="skip the raster path for comparison")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_few(rest[0], rest[1] == "grid") if kind == "few" else child_many(*rest)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        store_dir = str(Path(tmp) / "store")
        if args.raw.is_dir():
            from geo.refresh import refresh
            from geo.store import LayerStore

            refresh(LayerStore(store_dir), from_dir=args.raw)
            print(f"real public files from {args.raw}")
        else:
            from geo.demo import build_demo_store

            build_demo_store(store_dir)
            print(f"no public files at {args.raw}: the SYNTHETIC demo region")
        runs = [_spawn("few", store_dir, "grid" if i == 0 and not args.no_grid else "no") for i in range(args.repeat)]
        print(f"\npoint queries, default configuration (median of {len(runs)}):")
        print(f"  load layers and indexes          {statistics.median(r['load_s'] for r in runs):7.2f} s")
        three = statistics.median(r["first_s"] for r in runs)
        print(f"  3 places after loading           {three * 1000:7.1f} ms   ({', '.join(runs[0]['status'])})")
        print(f"  the same 3 places again          {statistics.median(r['again_s'] for r in runs) * 1000:7.1f} ms")
        if "grid_s" in runs[0]:
            print(f"  3 places through the grid        {runs[0]['grid_s']:7.2f} s   "
                  f"(= {runs[0]['grid_s'] / (runs[0]['load_s'] + runs[0]['first_s']):.0f}x loading and "
                  f"answering from the layers)")
        print("\ngeo score -q -o places.parquet (CSV in, chunks of 100,000):")
        for n in args.places:
            csv_path = Path(tmp) / f"places_{n}.csv"
            _random_places(store_dir, n, csv_path)
            many = [_spawn("many", store_dir, str(csv_path), str(Path(tmp) / "out.parquet"))
                    for _ in range(max(1, args.repeat if n <= 100_000 else 1))]
            seconds = statistics.median(r["total_s"] for r in many)
            print(f"  {n:>9,} places   {seconds:7.1f} s   {n / seconds:9,.0f} places/s   "
                  f"peak {max(r['peak_mb'] for r in many):,.0f} MB")
            csv_path.unlink()


if __name__ == "__main__":
    main()
