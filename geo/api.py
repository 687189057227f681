"""The Python API: the same operations as the ``geo`` command line.

>>> import geo.api as api
>>> result = api.run(api.load_config(preset="chip_fab"))   # doctest: +SKIP
>>> result.sites[["rank", "site_id", "score"]].head()       # doctest: +SKIP

This module only gathers the public names; each lives in the module of its idea
(:mod:`geo.pipeline`, :mod:`geo.runmodel`, :mod:`geo.runs`, :mod:`geo.outputs`).
Nothing in the package below the command line imports it.
"""

from __future__ import annotations

from geo.analysis import prepare
from geo.config import load_config
from geo.outputs import write_sites_file as write_sites
from geo.pipeline import DEFAULT_STORE, DEMO_STORE, is_synthetic, open_store, resolve, run, score_points
from geo.runmodel import RunRecord, RunResult
from geo.runs import DEFAULT_RUNS, latest_run, read_run, result_from_run
from geo.sitetable import rank

__all__ = [
    "DEFAULT_RUNS", "DEFAULT_STORE", "DEMO_STORE", "RunRecord", "RunResult", "is_synthetic", "latest_run",
    "load_config", "open_store", "prepare", "rank", "read_run", "resolve", "result_from_run", "run",
    "score_points", "write_sites",
]
