"""The configuration's models: criteria, exclusions, land and site rules, and every default.

:class:`Config` is the one validated object a run receives; :mod:`geo.config.loading`
reads it from defaults, a preset and a YAML file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from geo.config.ahp import AHP
from geo.schema import SCHEMAS
from geo.types import StateCode
from geo.valuefunctions import Linear, Piecewise, ValueFunction

Measure = Literal["distance", "attribute", "slope", "height_above_basin", "people_within", "capacity_within",
                  "substation_lines"]

#: Grid cell sizes a run accepts, in metres.
MIN_RESOLUTION_M, MAX_RESOLUTION_M = 30.0, 5000.0
#: A configuration's name becomes part of run folder and file names: keep it to these characters.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: The section of a site's explanation a criterion falls in, by its measure, else by the first layer it reads.
SECTION_BY_MEASURE = {"slope": "Terrain", "height_above_basin": "Terrain", "people_within": "People",
                      "capacity_within": "Grid", "substation_lines": "Grid"}
SECTION_BY_LAYER = {
    "transmission": "Grid", "substations": "Grid", "power_plants": "Grid", "water_stress": "Water",
    "water_service_areas": "Water", "water_bodies": "Water", "fiber": "Access", "backbone_pops": "Access",
    "roads": "Access", "rail": "Access", "elevation": "Terrain", "places": "People", "urban": "People",
    "county_stats": "People",
}


class Criterion(_Model):
    """One thing a good site has, scored 0-1 by a value function and weighted.

    ``measure`` says what the raw value is: ``distance`` (km to the nearest feature
    of ``layers``), ``attribute`` (a numeric column of a polygon layer under the
    cell), ``slope`` (degrees, from an elevation raster fine enough for slope) or
    ``height_above_basin`` (metres above the lowest ground within ``radius_km``, which
    even a coarse elevation raster supports), ``people_within`` (people living within
    ``radius_km``, spread from county totals onto towns and urban areas first),
    ``capacity_within`` (MW of power plants within ``radius_km``) or ``substation_lines``
    (lines of at least ``min_voltage_kv`` within ``radius_km`` of the nearest
    substation). A criterion with ``fallback_for`` is applied only when the criterion it
    names cannot be computed.
    """

    name: str
    layers: list[str] = Field(min_length=1)
    measure: Measure = "distance"
    attribute: str | None = None
    unit: str = "km"
    description: str = ""
    section: str = Field("", description="Where a site's explanation groups it (Grid, Water, Access, Terrain, "
                         "People); by default from its measure and first layer")
    value_function: ValueFunction
    weight: float = Field(ge=0)
    cap_km: float = Field(100.0, gt=0, description="Distances beyond this are treated as equal")
    min_voltage_kv: float | None = Field(None, ge=0)
    min_population: int | None = Field(None, ge=0)
    required: bool = Field(True, description="Fail when a layer is missing; else skip with a warning")
    radius_km: float = Field(15.0, gt=0, description="How far a neighbourhood measure looks: the basin floor, "
                             "commuting distance, generation nearby, lines at a substation")
    fallback_for: str | None = Field(
        None, description="Apply only when this criterion is not configured or cannot be computed")

    @field_validator("value_function")
    @classmethod
    def _finite_parameters(cls, value_function: Any) -> Any:
        for field, value in _numbers(value_function.model_dump(exclude={"kind"})):
            if not math.isfinite(value):
                raise ValueError(f"{field} must be a finite number, got {value}")
        return value_function

    @field_validator("layers")
    @classmethod
    def _known_layers(cls, layers: list[str]) -> list[str]:
        unknown = [name for name in layers if name not in SCHEMAS]
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; layers are: {', '.join(SCHEMAS)}")
        return layers

    @model_validator(mode="after")
    def _check_measure(self) -> Criterion:
        if self.measure == "attribute":
            if self.attribute is None:
                raise ValueError(f"criterion {self.name!r}: measure 'attribute' needs 'attribute'")
            for layer in self.layers:
                columns = [c.name for c in SCHEMAS[layer].columns]
                if self.attribute not in columns:
                    raise ValueError(
                        f"criterion {self.name!r}: layer {layer!r} has no column {self.attribute!r}"
                    )
        expected = {"slope": ["elevation"], "height_above_basin": ["elevation"], "people_within": ["county_stats"],
                    "capacity_within": ["power_plants"], "substation_lines": ["substations", "transmission"]}
        if self.measure in expected and self.layers != expected[self.measure]:
            raise ValueError(f"criterion {self.name!r}: measure {self.measure!r} reads layers {expected[self.measure]}")
        if not self.section:
            self.section = SECTION_BY_MEASURE.get(self.measure) or SECTION_BY_LAYER.get(self.layers[0], "Other")
        return self


class Exclusion(_Model):
    """Land that can never hold a site: a layer's features grown by a buffer."""

    name: str
    layer: str
    buffer_m: float = Field(0.0, ge=0)
    min_population: int | None = Field(None, ge=0, description="Only places at least this large")
    max_slope_deg: float | None = Field(None, gt=0, description="For 'elevation': exclude steeper cells")
    max_height_above_basin_m: float | None = Field(
        None, gt=0, description="For 'elevation': exclude cells higher than this above the lowest ground nearby")
    radius_km: float = Field(15.0, gt=0, description="For 'max_height_above_basin_m': how far the basin floor may be")
    fallback_for: str | None = Field(
        None, description="Apply only when this exclusion is not configured or cannot be computed")
    required: bool = False

    @model_validator(mode="after")
    def _one_terrain_rule(self) -> Exclusion:
        if self.layer == "elevation" and (self.max_slope_deg is None) == (self.max_height_above_basin_m is None):
            raise ValueError(f"exclusion {self.name!r}: give exactly one of max_slope_deg and "
                             "max_height_above_basin_m")
        return self

    @field_validator("layer")
    @classmethod
    def _known_layer(cls, layer: str) -> str:
        if layer not in SCHEMAS:
            raise ValueError(f"unknown layer {layer!r}; layers are: {', '.join(SCHEMAS)}")
        return layer


#: Federal agencies whose land may be opted in: agencies have offered some of their own
#: land (military bases, national laboratories, reservoirs, forests) for AI infrastructure.
OPTIONAL_AGENCIES = ("USFS", "BOR", "DOD", "DOE", "OTHER_FEDERAL")
#: Never eligible, in any configuration: national parks and monuments, wildlife refuges.
#: (Tribal land is not federal land to offer; it is excluded by its own rule.)
NEVER_ELIGIBLE_AGENCIES = {
    "NPS": "National Park Service land (parks, monuments) is protected by its organic act",
    "FWS": "Fish and Wildlife Service land (wildlife refuges) is managed for wildlife first",
}


class LandRules(_Model):
    """Which land may hold a site.

    By default only land the Bureau of Land Management manages: the multiple-use public
    land whose rights-of-way program grants industrial and energy uses. Forest Service,
    Reclamation, Defense and Energy land can be opted in with ``agencies``; National
    Park Service and Fish and Wildlife Service land, and tribal land, never can.
    """

    federal_only: bool = True
    agencies: list[str] = Field(default_factory=lambda: ["BLM"], min_length=1,
                                description="Federal agencies whose land may hold a site")
    unknown_ownership: Literal["exclude", "include"] = Field(
        "exclude", description="Cells outside the ownership layer's coverage: exclude, or rank them labelled unknown"
    )

    @field_validator("agencies")
    @classmethod
    def _known_agencies(cls, agencies: list[str]) -> list[str]:
        for agency in agencies:
            if agency in NEVER_ELIGIBLE_AGENCIES:
                raise ValueError(f"{agency} cannot be opted in: {NEVER_ELIGIBLE_AGENCIES[agency]}")
        allowed = ("BLM", *OPTIONAL_AGENCIES)
        unknown = sorted(set(agencies) - set(allowed))
        if unknown:
            raise ValueError(f"unknown agencies {unknown}; agencies that may hold a site are {', '.join(allowed)}")
        return agencies



class Aggregation(_Model):
    """How sub-scores combine into one score per cell."""

    method: Literal["weighted_sum", "weighted_product"] = "weighted_sum"
    ahp: AHP | None = None


class SiteRules(_Model):
    """What makes a candidate site out of suitable cells."""

    min_cell_score: float = Field(0.55, ge=0, le=1, description="Cells scoring below this are not suitable")
    min_area_acres: float = Field(1000.0, gt=0)
    max_area_acres: float = Field(10000.0, gt=0)
    top_n: int = Field(25, ge=1, description="Sites printed and mapped; all are written")
    min_core_width_m: float = Field(
        1000.0, ge=0,
        description="Only land inside a disk this wide that fits in suitable land is buildable (0: no rule). "
        "1 km leaves room for a plant building of a few hundred metres with truck courts, setbacks "
        "and a substation yard on either side; narrower strips along a range front or between "
        "exclusions cannot hold a park")

    @model_validator(mode="after")
    def _check(self) -> SiteRules:
        if self.max_area_acres < 2 * self.min_area_acres:
            raise ValueError("sites: max_area_acres must be at least twice min_area_acres")
        return self


def _default_criteria() -> list[Criterion]:
    """The criteria of a general AI-infrastructure manufacturing park; presets re-weight them."""
    return [
        Criterion(
            name="transmission", layers=["transmission"], min_voltage_kv=230, cap_km=100,
            description="Distance to a transmission line of at least the minimum voltage",
            value_function=Piecewise(points=[(0, 1.0), (5, 0.9), (15, 0.5), (40, 0.0)]), weight=0.2,
        ),
        Criterion(
            name="substation", layers=["substations"], cap_km=100,
            description="Distance to a known high-voltage substation",
            value_function=Piecewise(points=[(0, 1.0), (10, 0.6), (30, 0.0)]), weight=0.1,
        ),
        Criterion(
            name="substation_lines", layers=["substations", "transmission"], measure="substation_lines",
            min_voltage_kv=230, radius_km=3, unit="lines", required=False,
            description="Lines of at least the minimum voltage within 3 km of the nearest substation (a hub, "
            "not a tap)", value_function=Piecewise(points=[(0, 0.0), (1, 0.3), (2, 0.6), (4, 1.0)]), weight=0.05,
        ),
        Criterion(
            name="generation_nearby", layers=["power_plants"], measure="capacity_within", radius_km=50, unit="MW",
            required=False, description="Generating capacity within 50 km (EIA power plants)",
            value_function=Piecewise(points=[(0, 0.0), (200, 0.3), (1000, 0.7), (3000, 1.0)]), weight=0.05,
        ),
        Criterion(
            name="water_stress", layers=["water_stress"], measure="attribute", attribute="score",
            unit="score 0-5", description="Baseline water stress (0 low to 5 extremely high)",
            value_function=Linear(low=0, high=5, direction="lower_is_better"), weight=0.1,
        ),
        Criterion(
            name="groundwater", layers=["county_stats"], measure="attribute", attribute="groundwater_share",
            unit="share 0-1", required=False, section="Water",
            description="Share of the county's fresh water drawn from groundwater (a stressed aquifer is the risk)",
            value_function=Linear(low=0, high=1, direction="lower_is_better"), weight=0.05,
        ),
        Criterion(
            name="water_access", layers=["water_service_areas"], cap_km=100, required=False,
            description="Distance to a public-supply water service area (0 inside one)",
            value_function=Piecewise(points=[(0, 1.0), (5, 0.8), (20, 0.3), (50, 0.0)]), weight=0.1,
        ),
        Criterion(
            name="fiber", layers=["backbone_pops", "fiber"], cap_km=250, required=False,
            description="Distance to the backbone: a city with a backbone point of presence, or a fiber route",
            value_function=Piecewise(points=[(0, 1.0), (25, 0.8), (75, 0.4), (150, 0.0)]), weight=0.05,
        ),
        Criterion(
            name="slope", layers=["elevation"], measure="slope", unit="degrees", required=False,
            description="Terrain slope", value_function=Piecewise(points=[(0, 1.0), (3, 0.9), (8, 0.2), (15, 0.0)]),
            weight=0.1,
        ),
        Criterion(
            name="relief", layers=["elevation"], measure="height_above_basin", unit="m", required=False,
            fallback_for="slope", radius_km=15,
            description="Height above the lowest ground within 15 km (coarse terrain, where slope is not available)",
            value_function=Piecewise(points=[(0, 1.0), (50, 0.9), (150, 0.5), (250, 0.0)]), weight=0.1,
        ),
        Criterion(
            name="highway_rail", layers=["roads", "rail"], cap_km=100, required=False,
            description="Distance to an interstate, primary highway or railroad",
            value_function=Piecewise(points=[(0, 1.0), (5, 0.8), (20, 0.3), (50, 0.0)]), weight=0.1,
        ),
        Criterion(
            name="labour_pool", layers=["county_stats"], measure="people_within", radius_km=60, unit="people",
            required=False,
            description="People living within 60 km, a commute (county totals spread onto towns and urban areas)",
            value_function=Piecewise(points=[(0, 0.0), (25_000, 0.2), (100_000, 0.6), (500_000, 0.9),
                                             (2_000_000, 1.0)]), weight=0.1,
        ),
    ]


def _default_exclusions() -> list[Exclusion]:
    return [
        Exclusion(name="protected", layer="protected", buffer_m=1000, required=True),
        Exclusion(name="urban", layer="urban", buffer_m=2000),
        Exclusion(name="towns", layer="places", buffer_m=5000, min_population=1000),
        Exclusion(name="water_bodies", layer="water_bodies", buffer_m=250),
        Exclusion(name="steep_slope", layer="elevation", max_slope_deg=10),
        Exclusion(name="high_ground", layer="elevation", max_height_above_basin_m=250, radius_km=15,
                  fallback_for="steep_slope"),
    ]


class Config(_Model):
    """Everything a run needs to know besides the layers themselves.

    ``origin`` names where the configuration came from (file and preset), for errors.
    """

    _origin: str = PrivateAttr("defaults")

    name: str = Field("default", description="Short name, part of run folder and file names")
    description: str = "Balanced weights for a general AI-infrastructure manufacturing park"
    states: list[StateCode] = Field(default_factory=lambda: list(get_args(StateCode)), min_length=1)
    resolution_m: float = Field(250.0, ge=MIN_RESOLUTION_M, le=MAX_RESOLUTION_M)
    land: LandRules = Field(default_factory=LandRules)
    exclusions: list[Exclusion] = Field(default_factory=_default_exclusions)
    criteria: list[Criterion] = Field(default_factory=_default_criteria, min_length=1)
    aggregation: Aggregation = Field(default_factory=Aggregation)
    sites: SiteRules = Field(default_factory=SiteRules)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"{name!r} cannot name run folders and files: use at most 64 letters, digits, '_', "
                             "'-' and '.', starting with a letter or digit (put prose in 'description')")
        return name

    @model_validator(mode="after")
    def _check(self) -> Config:
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError(f"criteria names must be unique, got {names}")
        if sum(c.weight for c in self.criteria) <= 0 and self.aggregation.ahp is None:
            raise ValueError("criteria: at least one weight must be positive")
        if self.aggregation.ahp is not None:
            primary = [c.name for c in self.criteria if c.fallback_for not in names]
            missing = sorted(set(self.aggregation.ahp.criteria) ^ set(primary))
            if missing:
                raise ValueError(f"aggregation.ahp.criteria must name exactly the criteria (fallbacks take the weight "
                                 f"of the criterion they stand in for); differs in {missing}")
        return self

    @property
    def origin(self) -> str:
        return self._origin

    def weights(self) -> dict[str, float]:
        """Normalised weights by criterion (from the AHP matrix when one is given).

        Returns
        -------
        dict[str, float]
            Weights summing to 1; a fallback criterion takes the weight of the one it stands in for.
        """
        if self.aggregation.ahp is not None:
            # a fallback criterion is never active with the one it stands in for, and takes its weight
            weights = self.aggregation.ahp.weights()[0]
            return {c.name: weights[c.name if c.name in weights or c.fallback_for is None else c.fallback_for]
                    for c in self.criteria}
        total = sum(c.weight for c in self.criteria)
        return {c.name: c.weight / total for c in self.criteria}




def _numbers(value: Any, where: str = "") -> list[tuple[str, float]]:
    """Every number inside a dumped model, with its dotted field name (list items by index)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(where, float(value))]
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    return [found for key, item in items for found in _numbers(item, f"{where}.{key}" if where else str(key))]
