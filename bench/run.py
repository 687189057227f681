"""`geo run` end to end beside `geo rank` (the analysis alone), on the real files, in one benchmark run.

Ingests the real public files (``../shared/data/raw`` or ``--raw DIR``) into a temporary
store, then alternates, each a fresh ``geo`` process so that imports count as a user sees them:

* ``geo rank -q`` at ``--resolution`` (default 250 m): layers to ranked sites, nothing written;
* ``geo run`` at the same resolution: the analysis, the robustness columns (``--draws``
  weight draws, re-ranked), the run folder, the map and the report.

Prints the median wall time of each over ``--repeat`` runs, the ratio of the two, and the
steps of the last run from its run record.

    python bench/run.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"
GEO = Path(sys.executable).with_name("geo")


def timed(args: list[str], cwd: Path) -> float:
    """Wall time (s) of one ``geo`` command, which must succeed."""
    start = time.perf_counter()
    done = subprocess.run([str(GEO), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        sys.exit(f"geo {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="directory of the real public files")
    parser.add_argument("--resolution", type=float, default=250.0)
    parser.add_argument("--draws", type=int, default=100, help="robustness draws of geo run (its default)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.raw.is_dir():
        sys.exit(f"no public files at {args.raw}; pass --raw DIR (see geo refresh --from)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = work / "store"
        start = time.perf_counter()
        timed(["refresh", "--from", str(args.raw), "--store", str(store), "-q"], work)
        print(f"ingest {args.raw}: {time.perf_counter() - start:.1f} s")
        common = ["--store", str(store), "--resolution", f"{args.resolution:g}"]
        rank_s, run_s = [], []
        for i in range(args.repeat):
            rank_s.append(timed(["rank", *common, "-q", "--top", "10"], work))
            run_s.append(timed(["run", *common, "-q", "--runs-dir", str(work / f"runs{i}"),
                                "--robustness-draws", str(args.draws)], work))
        rank_median, run_median = statistics.median(rank_s), statistics.median(run_s)
        record = json.loads(next((work / f"runs{args.repeat - 1}").glob("*/run.json")).read_text())
        print(f"\nat {args.resolution:g} m, median of {args.repeat} (each a fresh process):")
        print(f"  geo rank (analysis alone)             {rank_median:7.2f} s   runs {_list(rank_s)}")
        print(f"  geo run (+ robustness, outputs, map)  {run_median:7.2f} s   runs {_list(run_s)}")
        print(f"  geo run / geo rank                    {run_median / rank_median:7.2f}")
        robustness = record["robustness"]
        print(f"\nlast geo run: {record['sites']['count']} sites, robustness {robustness['draws']} draws by "
              f"{robustness['method']} ({robustness['method_text']})")
        for step, seconds in record["timings_s"].items():
            print(f"  {step:<28} {seconds:7.2f} s")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
