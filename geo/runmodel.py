"""The run model: what a run is (:class:`RunResult`) and the record that lets anyone reproduce and judge it.

A run is a prepared :class:`~geo.analysis.Analysis`, the ranked site table found on
it, and a :class:`RunRecord`. The record is written as ``run.json`` in the run folder
(see :mod:`geo.runs`); its keys are the field names below, so a run folder written
by an earlier release reads back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
from pydantic import BaseModel, ConfigDict

from geo.analysis import Analysis
from geo.config import Config
from geo.provenance import Provenance
from geo.ranker import Ranker


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CriterionInfo(_Part):
    """How a criterion reads: its unit, what it measures and the layers behind it."""

    unit: str
    description: str
    layers: list[str]


class GridInfo(_Part):
    """The analysis grid: CRS, cell size in metres, shape and affine transform (six numbers)."""

    crs: str
    resolution_m: float
    width: int
    height: int
    transform: list[float]


class ExclusionInfo(_Part):
    """The exclusion causes in bit order, their descriptions, the land each removes, and what is left."""

    causes: list[str]
    descriptions: dict[str, str]
    area_km2: dict[str, float]
    eligible_km2: float


class SiteCount(_Part):
    """How many sites the run found and their total area."""

    count: int
    total_acres: float


class StateSummary(_Part):
    """One state's sites and land, and why it has no site (see :func:`geo.statesummary.state_summary`)."""

    sites: int
    area_km2: float
    eligible_km2: float
    in_sites_km2: float
    below_cut_km2: float
    excluded_km2: dict[str, float]
    why: str


class RobustnessSettings(_Part):
    """The weight draws behind the site table's robustness columns (``draws`` 0: none)."""

    draws: int
    seed: int
    top_n: int
    #: How the columns were made: "rerank" (the run's sites re-ranked) or "search" (sites searched for again).
    method: str | None = None
    method_text: str | None = None


class EngineInfo(_Part):
    """How the run was computed: the whole grid in memory, or tile by tile on a Dask cluster.

    ``choice`` says why (the in-memory memory estimate against the memory available, or
    that the engine was forced). For the chunked path, ``tile_size`` is the tile edge in
    cells, ``overview_step`` the step of the overview the map, report and per-state
    summary were drawn from (1: the whole grid), and ``scheduler`` the address of the
    Dask scheduler (a local cluster's own address when none was named).
    """

    name: Literal["memory", "dask"]
    choice: str
    tile_size: int | None = None
    overview_step: int | None = None
    scheduler: str | None = None


class RunRecord(_Part):
    """Everything needed to reproduce and judge a run; written as ``run.json``.

    Attributes
    ----------
    run_id
        ``<UTC start time>-<configuration name>``, also the run folder's name.
    store
        The layer store the run read (the map and report prepare it again from there).
    synthetic
        Whether every layer is made up (the demo region).
    caveats
        Per layer, the caveat of a proxy, coarse or partial layer.
    config
        The whole configuration, as validated.
    weights
        The normalised weight of each active criterion.
    skipped, warnings
        Criteria or rules left out for want of data, and soft problems found on the way.
    terrain
        Which terrain measure the run used.
    layers
        The provenance of every layer read.
    states
        Per state code, its sites and land (empty for a ranking that was not summarised).
    robustness
        The weight draws behind the robustness columns, when any.
    engine
        In memory or in tiles on Dask, and why (absent from runs that did not choose).
    timings_s
        Seconds spent in each step.
    """

    run_id: str
    package: str
    version: str
    python: str
    started_at: datetime
    finished_at: datetime
    store: str
    synthetic: bool
    caveats: dict[str, str]
    config: Config
    weights: dict[str, float]
    criteria: dict[str, CriterionInfo]
    skipped: list[str]
    terrain: str
    warnings: list[str]
    grid: GridInfo
    exclusions: ExclusionInfo
    sites: SiteCount
    layers: dict[str, Provenance]
    timings_s: dict[str, float]
    states: dict[str, StateSummary] = {}
    robustness: RobustnessSettings | None = None
    engine: EngineInfo | None = None

    def to_json(self) -> str:
        """The record as indented JSON, the content of ``run.json``.

        Returns
        -------
        str
            The JSON text.
        """
        return self.model_dump_json(indent=2)

    def changed_layers(self, provenance: dict[str, Provenance]) -> list[str]:
        """Names of the layers whose data (checksum) differs from what this run read.

        Parameters
        ----------
        provenance
            The current provenance of the layers, by name.

        Returns
        -------
        list[str]
            Sorted names of the layers present in both whose checksum changed.
        """
        return sorted(name for name, p in provenance.items()
                      if name in self.layers and self.layers[name].sha256 != p.sha256)


@dataclass
class RunResult:
    """A ranked site table together with the analysis behind it and its run record.

    Attributes
    ----------
    analysis
        The prepared analysis (grid, exclusions, sub-scores) the sites were found on.
    sites
        The ranked site table, one row per site (see :func:`geo.sitetable.describe_sites`).
    labels
        Site label of every grid cell (0: no site), label ``k`` = the ``k``-th site found.
    cell_scores
        Scores of the eligible cells, aligned with ``analysis.eligible``.
    record
        The run record.
    output_dir
        The run folder, once the run is written.
    reranker
        What re-ranks the sites under new weights without the grid's sub-scores, when
        the run holds none (a chunked run, see :meth:`geo.reranking.SiteReranker.from_terms`).
    """

    analysis: Analysis
    sites: gpd.GeoDataFrame
    labels: np.ndarray
    cell_scores: np.ndarray
    record: RunRecord
    output_dir: Path | None = None
    reranker: Ranker | None = None

    @property
    def synthetic(self) -> bool:
        """Whether the run stands on the synthetic demo region."""
        return self.analysis.synthetic

    @property
    def score_grid(self) -> np.ndarray:
        """The cell scores on the full grid (float32, NaN where excluded), built on demand."""
        return self.analysis.score_grid(self.cell_scores)


__all__ = ["CriterionInfo", "EngineInfo", "ExclusionInfo", "GridInfo", "RobustnessSettings", "RunRecord", "RunResult",
           "SiteCount", "StateSummary"]
