"""Named types shared across modules."""

from __future__ import annotations

from typing import Literal

StateCode = Literal["AZ", "NV", "UT"]
GeometryKind = Literal["Point", "Line", "Polygon"]
Direction = Literal["higher_is_better", "lower_is_better"]

#: FIPS codes of the states the analyzer covers.
STATE_FIPS: dict[str, str] = {"AZ": "04", "NV": "32", "UT": "49"}
STATE_NAMES: dict[str, str] = {"AZ": "Arizona", "NV": "Nevada", "UT": "Utah"}

#: Coordinate reference systems: layers are stored in WGS84, analysed in CONUS Albers.
STORE_CRS = "EPSG:4326"
ANALYSIS_CRS = "EPSG:5070"

ACRE_M2 = 4046.8564224
