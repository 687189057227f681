"""Protected land that excludes development: BLM wilderness and WSAs, National Park Service units."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import NATURAL_EARTH, PUBLIC_DOMAIN, Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec

_NLCS = "https://gis.blm.gov/arcgis/rest/services/lands/BLM_Natl_NLCS_WLD_WSA/MapServer"
_NPS = ("https://services1.arcgis.com/fBc8EJBxQRMcHlei/arcgis/rest/services/"
        "NPS_Land_Resources_Division_Boundary_and_Tract_Data_Service/FeatureServer")


def _blm_nlcs(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    """Designation from a ``designation`` column the fetcher adds (service layer 0 is
    Wilderness, layer 1 WSA), else from the unit's name."""
    frame = as_geoframe(raw, spec.id, ("NLCS_NAME",))
    frame = clean.null_sentinels(frame, ["NLCS_NAME"])
    names = frame["NLCS_NAME"].astype("string")
    if "designation" in frame.columns:
        designation = frame["designation"].astype("string")
    else:
        upper = names.str.upper()
        designation = pd.Series(pd.NA, index=frame.index, dtype="string")
        designation = designation.mask(upper.str.contains("WILDERNESS", na=False), "Wilderness")
        designation = designation.mask(
            upper.str.contains(r"\bWSA\b|WILDERNESS STUDY", regex=True, na=False), "WSA"
        )
        designation = designation.fillna("Wilderness or WSA")
    out = frame.assign(designation=designation, name=names)
    return finish(spec, out, ctx)


def _nps_boundaries(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("UNIT_NAME", "UNIT_TYPE"))
    frame = clean.null_sentinels(frame, ["UNIT_NAME", "UNIT_TYPE"])
    out = frame.assign(designation=frame["UNIT_TYPE"], name=frame["UNIT_NAME"])
    return finish(spec, out, ctx)


def _ne_parks(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("unit_name", "unit_type"))
    frame = clean.null_sentinels(frame, ["unit_name", "unit_type"])
    out = frame.assign(designation=frame["unit_type"], name=frame["unit_name"])
    return finish(spec, out, ctx)


BLM_NLCS_WILDERNESS = SourceSpec(
    id="blm_nlcs_wilderness", layer="protected",
    title="Bureau of Land Management, National Conservation Lands: Wilderness and Wilderness Study Areas",
    license=PUBLIC_DOMAIN, url=_NLCS,
    endpoint=Endpoint(protocol="arcgis", format="geojson", urls=[f"{_NLCS}/0", f"{_NLCS}/1"]),
    files=OfflineFiles(FileKind("blm_nlcs_wilderness", "BLM NLCS Wilderness / WSA polygons",
                                ("*nlcs*wld*", "*nlcs*wsa*"), frozenset({"NLCS_NAME"}))),
    normalize=_blm_nlcs,
)

NPS_BOUNDARIES = SourceSpec(
    id="nps_boundaries", layer="protected",
    title="National Park Service, Land Resources Division unit boundaries",
    license=PUBLIC_DOMAIN, url=f"{_NPS}/2", partial=True,
    notes=("National Park Service units only: wilderness, WSA, NCA and ACEC come from other sources",),
    endpoint=Endpoint(protocol="arcgis", format="geojson", url=_NPS, layer_name="nps_boundary"),
    files=OfflineFiles(FileKind("nps_boundaries", "NPS unit boundaries", ("nps_boundary*",),
                                frozenset({"UNIT_NAME", "UNIT_TYPE"}))),
    normalize=_nps_boundaries,
)

NE_PARKS = SourceSpec(
    id="ne_parks", layer="protected",
    title="Natural Earth 10m parks and protected lands (US National Park Service units)",
    license=NATURAL_EARTH, partial=True,
    url="https://www.naturalearthdata.com/downloads/10m-cultural-vectors/parks-and-protected-lands/",
    caveat="National Park Service units only: no wilderness, WSA, national monument/NCA or ACEC",
    notes=(
        "National Park Service units only: wilderness, WSA, national monument/NCA and ACEC "
        "polygons are missing",
        "generalised small-scale file: many smaller NPS units (e.g. Arches, Bryce Canyon, "
        "Great Basin) are absent",
    ),
    files=OfflineFiles(FileKind("ne_parks", "Natural Earth parks and protected lands",
                                ("ne_*_parks_and_protected_lands*",),
                                frozenset({"unit_code", "unit_name", "unit_type", "nps_region"}))),
    normalize=_ne_parks,
)

LAYER = LayerSources("protected", (BLM_NLCS_WILDERNESS, NPS_BOUNDARIES, NE_PARKS), mode="merge")
