"""Offline ingestion: the publishers' files, downloaded elsewhere, read from a directory.

:func:`ingest_directory` walks a directory tree, recognises each file by its name or,
failing that, by its fields (:data:`FILE_KINDS`), reads it in the form its publisher
distributes it (zipped shapefile, GeoJSON, CSV, Parquet, GeoTIFF, zip of Mapbox
vector tiles) and hands it to :func:`geo.sources.normalize.normalize`. Layers come
out in dependency order: states and counties first, since the others are clipped to
the states and county tables are joined to the counties.

When several files can make the same layer, the first source in :data:`JOBS` that
has its files wins and the others are logged as alternates. Files that are
recognised but deliberately not used (say a county broadband table, which is no
fiber route) are logged with the reason; unrecognised files are logged and skipped.

Errors: a recognised file that cannot be read raises :class:`~geo.errors.FetchError`
naming the file, and one whose content does not normalise raises
:class:`~geo.errors.LayerSchemaError` naming it. When ``on_error`` is given, the
error is passed to it instead, that layer is skipped and ingestion goes on, so an
orchestrator can mark the layer failed and keep the rest.
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import json
import logging
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import rasterio.errors
import rasterio.merge
import shapely
from shapely.geometry import shape

from geo.errors import EmptyLayerError, FetchError, GeoError, LayerSchemaError
from geo.provenance import sha256_file
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.combine import fill_outside_coverage
from geo.sources.normalize import layer_of, normalize
from geo.types import STORE_CRS

log = logging.getLogger(__name__)

Reader = Callable[[Path], Any]
ErrorHandler = Callable[[str, Exception], None]
Progress = Callable[[int, int, str], None]

_VECTOR_SUFFIXES = (".zip", ".geojson", ".json", ".gpkg", ".shp", ".fgb")
_DOC_SUFFIXES = (".md", ".txt", ".pdf", ".html", ".xml")
_TILE_MEMBER = re.compile(r"(?:^|/)(\d+)/(\d+)/(\d+)\.(?:pbf|mvt)$")


@dataclass(frozen=True)
class FileKind:
    """A kind of publisher file the offline reader knows.

    ``patterns`` are globs on the lower-cased file name; ``fields`` identify the file
    by its attribute names when the name does not match. ``skip_reason`` marks files
    that are recognised but deliberately not used.
    """

    key: str
    description: str
    patterns: tuple[str, ...]
    fields: frozenset[str] = frozenset()
    skip_reason: str | None = None


FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("census_states", "Census cartographic boundary states (zipped shapefile)",
             ("cb_*_us_state_*.zip", "tl_*_us_state.zip"), frozenset({"STUSPS", "STATEFP", "NAME"})),
    FileKind("census_counties", "Census cartographic boundary counties (zipped shapefile)",
             ("cb_*_us_county_*.zip", "tl_*_us_county.zip"),
             frozenset({"STATEFP", "COUNTYFP", "GEOID", "NAME"})),
    FileKind("blm_sma", "BLM Surface Management Agency polygons", ("*blm*sma*",),
             frozenset({"ADMIN_AGENCY_CODE"})),
    FileKind("padus_fee", "PAD-US Fee managers", ("padus*fee*",), frozenset({"Mang_Name", "Mang_Type"})),
    FileKind("padus3_great_basin", "PAD-US 3.0 Great Basin land managers",
             ("padus3*great_basin*",), frozenset({"Mng_Level", "MngNm_D"})),
    FileKind("national_atlas_federal_lands", "USGS National Atlas federal lands by agency (1:1,000,000)",
             ("*national_atlas_federal_lands*", "fedlanp*"), frozenset({"agency", "st"})),
    FileKind("census_aiannh", "Census American Indian / Alaska Native / Native Hawaiian areas",
             ("cb_*_us_aiannh_*", "tl_*_us_aiannh*"), frozenset({"AIANNHCE", "GEOID", "NAME"})),
    FileKind("blm_nlcs_wilderness", "BLM NLCS Wilderness / WSA polygons", ("*nlcs*wld*", "*nlcs*wsa*"),
             frozenset({"NLCS_NAME"})),
    FileKind("nps_boundaries", "NPS unit boundaries", ("nps_boundary*",),
             frozenset({"UNIT_NAME", "UNIT_TYPE"})),
    FileKind("ne_parks", "Natural Earth parks and protected lands", ("ne_*_parks_and_protected_lands*",),
             frozenset({"unit_code", "unit_name", "unit_type", "nps_region"})),
    FileKind("hifld_transmission", "HIFLD transmission lines with full attributes",
             ("*electric_power_transmission_lines*",), frozenset({"VOLTAGE", "VOLT_CLASS", "OWNER"})),
    FileKind("hifld_volt_class", "HIFLD VOLT_CLASS lines rebuilt from IM3 tiles (GeoJSON)",
             ("hifld_transmission_lines*volt_class*.geojson",), frozenset({"VOLT_CLASS"})),
    FileKind("hifld_volt_class_tiles", "HIFLD transmission vector tiles from the IM3 atlas (zip of .pbf)",
             ("hifld_transmission_lines*vector_tiles*.zip",)),
    FileKind("gridkit_vertices", "GridKit high-voltage network vertices (CSV)",
             ("gridkit_*vertices*.csv",), frozenset({"v_id", "lon", "lat", "typ", "voltage"})),
    FileKind("gridkit_links", "GridKit high-voltage network links (CSV)",
             ("gridkit_*links*.csv",), frozenset({"l_id", "v_id_1", "v_id_2", "voltage"})),
    FileKind("aqueduct_baseline", "WRI Aqueduct baseline water stress", ("aqueduct*",),
             frozenset({"bws_score", "bws_label"})),
    FileKind("usdm_counties", "US Drought Monitor county statistics (Parquet or CSV)",
             ("usdm_county*",),
             frozenset({"STATEFP", "COUNTYFP", "usdm_date", "usdm_class", "usdm_percent"})),
    FileKind("usgs_water_use", "USGS county water use 2015 (CSV, header on line 2)",
             ("usco2015*.csv",), frozenset({"FIPS", "TO-WFrTo", "PS-Wtotl"})),
    FileKind("usgs_water_service_area_tiles", "USGS public-supply water service areas, vector tiles",
             ("usgs_public_supply_water_service_areas*vector_tiles*.zip",),
             skip_reason="the published tiles behind the service-area GeoJSON, which is read instead"),
    FileKind("usgs_water_service_areas", "USGS public-supply water service areas",
             ("usgs_public_supply_water_service_areas*",), frozenset({"WSA_NAME"})),
    FileKind("county_broadband", "Microsoft/FCC county broadband availability and usage (CSV)",
             ("*broadband_data*.csv",), frozenset({"ST", "COUNTY ID", "BROADBAND AVAILABILITY PER FCC"}),
             skip_reason="county shares of people with 25/3 Mbps broadband say nothing about fiber "
             "routes; the fiber criterion uses backbone points of presence instead"),
    FileKind("ne_railroads", "Natural Earth railroads", ("ne_*_railroads*",)),
    FileKind("ne_interstates", "Natural Earth 10m roads, US Interstates", ("ne_*_roads*interstate*",)),
    FileKind("topology_zoo_pops", "Internet Topology Zoo backbone points of presence",
             ("*topology_zoo*",), frozenset({"network", "label", "node_id"})),
    FileKind("tiger_primary_roads", "TIGER/Line primary roads", ("tl_*_primaryroads*",),
             frozenset({"RTTYP", "FULLNAME", "MTFCC"})),
    FileKind("ne_populated_places", "Natural Earth populated places", ("ne_*_populated_places*",),
             frozenset({"NAME", "POP_MAX", "ADM1NAME"})),
    FileKind("ne_urban_areas", "Natural Earth urban areas", ("ne_*_urban_areas*",)),
    FileKind("eia_power_plants", "EIA power plants (GeoJSON or CSV with Latitude/Longitude)",
             ("eia_power*plant*",), frozenset({"Plant_Name", "Total_MW", "PrimSource"})),
    FileKind("pvlib_altitude", "pvlib 5 arc-minute altitude GeoTIFF", ("pvlib_altitude*.tif",)),
    FileKind("usgs_3dep", "USGS 3DEP DEM GeoTIFF tiles", ("usgs_1_*.tif", "usgs_13_*.tif")),
)
_KINDS = {k.key: k for k in FILE_KINDS}
#: Tile zips whose metadata names a tileset, for files that match no name pattern.
_TILESET_KINDS = {"transmission": "hifld_volt_class_tiles", "usgs_water_supply": "usgs_water_service_area_tiles"}


@dataclass(frozen=True)
class Job:
    """One source to normalise: the file kind it reads and the optional extra inputs.

    A ``fills`` source is coarser than the sources before it for the same layer: where
    one of those covers only part of the area, this one fills the rest.
    """

    source_id: str
    kind: str
    extras: tuple[str, ...] = ()
    fills: bool = False


#: Sources in the order they are tried; for each layer the first with its files wins.
JOBS: tuple[Job, ...] = (
    Job("census_states", "census_states"),
    Job("census_counties", "census_counties"),
    Job("blm_sma", "blm_sma"),
    Job("padus_fee", "padus_fee"),
    Job("padus3_great_basin", "padus3_great_basin"),
    Job("national_atlas_federal_lands", "national_atlas_federal_lands", fills=True),
    Job("census_aiannh", "census_aiannh"),
    Job("blm_nlcs_wilderness", "blm_nlcs_wilderness"),
    Job("nps_boundaries", "nps_boundaries"),
    Job("ne_parks", "ne_parks"),
    Job("hifld_transmission", "hifld_transmission"),
    Job("hifld_volt_class", "hifld_volt_class"),
    Job("hifld_volt_class_tiles", "hifld_volt_class_tiles"),
    Job("gridkit_substations", "gridkit_vertices", ("gridkit_links",)),
    Job("aqueduct_baseline", "aqueduct_baseline"),
    Job("usdm_drought_proxy", "usdm_counties", ("usgs_water_use",)),
    Job("usgs_county_water_use", "usgs_water_use"),
    Job("usgs_water_service_areas", "usgs_water_service_areas"),
    Job("topology_zoo_pops", "topology_zoo_pops"),
    Job("tiger_primary_roads", "tiger_primary_roads"),
    Job("ne_interstates", "ne_interstates"),
    Job("ne_railroads", "ne_railroads"),
    Job("ne_populated_places", "ne_populated_places"),
    Job("ne_urban_areas", "ne_urban_areas"),
    Job("eia_power_plants", "eia_power_plants"),
    Job("usgs_3dep", "usgs_3dep"),
    Job("pvlib_altitude", "pvlib_altitude"),
)
#: Why an extra input is not used when its main file is absent.
_EXTRA_ONLY = {
    "gridkit_links": "GridKit links are straight segments between stations; they only supply "
    "substation voltages, together with the GridKit vertices file",
}


@dataclass(frozen=True)
class FoundFile:
    """A file of the directory and the kind it was recognised as (``None``: unrecognised)."""

    path: Path
    kind: str | None
    by: str = "name"


@dataclass
class _Plan:
    """The recognised, usable files of a directory, by kind."""

    files: dict[str, list[Path]] = field(default_factory=dict)


# -- recognising files -------------------------------------------------------------------


def scan_directory(directory: Path) -> list[FoundFile]:
    """Every file under ``directory`` (hidden ones excepted) with the kind it is recognised as."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FetchError(f"{directory} is not a directory")
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        kind = _kind_by_name(path)
        if kind is not None:
            found.append(FoundFile(path, kind, "name"))
            continue
        found.append(FoundFile(path, _kind_by_content(path), "content"))
    return found


def _kind_by_name(path: Path) -> str | None:
    name = path.name.lower()
    for kind in FILE_KINDS:
        if any(fnmatch.fnmatch(name, pattern) for pattern in kind.patterns):
            return kind.key
    return None


def _kind_by_content(path: Path) -> str | None:
    """Match the file's field names against the kinds' signatures (largest signature first)."""
    try:
        fields = _field_names(path)
    except Exception as exc:  # a file we cannot even peek into is simply not recognised
        log.debug("cannot inspect %s: %s", path, exc)
        return None
    if isinstance(fields, str):
        return fields
    if not fields:
        return None
    stripped = {f.strip() for f in fields}
    candidates = [k for k in FILE_KINDS if k.fields and k.fields <= stripped]
    if not candidates:
        return None
    return max(candidates, key=lambda k: len(k.fields)).key


def _field_names(path: Path) -> set[str] | str | None:
    """Field names of a vector, CSV or Parquet file; for a tile zip, the kind of its tileset."""
    suffix = path.suffix.lower()
    if suffix == ".zip" and _tile_members(path):
        with zipfile.ZipFile(path) as zf:
            meta = next((n for n in zf.namelist() if n.endswith("metadata.json")), None)
            name = json.loads(zf.read(meta)).get("name", "") if meta else ""
        return next((kind for key, kind in _TILESET_KINDS.items() if key in name), None)
    if suffix in _VECTOR_SUFFIXES:
        return set(pyogrio.read_info(path)["fields"])
    if suffix == ".csv":
        return set(_csv_header(path)[1])
    if suffix == ".parquet":
        return set(pq.read_schema(path).names)
    return None


def _csv_header(path: Path) -> tuple[int, list[str]]:
    """Line index and fields of a CSV's header: the first of its first lines with two or more
    non-empty fields (some publishers put a citation line above the header)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        for index, row in enumerate(csv.reader(fh)):
            if sum(1 for cell in row if cell.strip()) >= 2:
                return index, row
            if index >= 4:
                break
    raise FetchError(f"{path}: no header line found in its first five lines")


def _tile_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return [n for n in zf.namelist() if _TILE_MEMBER.search(n)]
    except zipfile.BadZipFile:
        return []


# -- reading files -----------------------------------------------------------------------


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """A vector file (zipped shapefile, GeoJSON, GeoPackage, ...) as a GeoDataFrame."""
    return gpd.read_file(path, engine="pyogrio", use_arrow=True)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (all columns as text, header found below any citation lines, ``--`` missing)
    or Parquet table; a GeoParquet file comes back as a GeoDataFrame."""
    if path.suffix.lower() == ".parquet":
        if b"geo" in (pq.read_schema(path).metadata or {}):
            return gpd.read_parquet(path)
        return pd.read_parquet(path)
    skip, _ = _csv_header(path)
    table = pd.read_csv(path, skiprows=skip, dtype=str, na_values=["--"], keep_default_na=True)
    table.columns = [str(c).strip() for c in table.columns]
    return table


def read_vector_tiles(path: Path) -> gpd.GeoDataFrame:
    """Features of a zip of Mapbox vector tiles (``{z}/{x}/{y}.pbf``), in EPSG:4326.

    Only the highest zoom in the zip is read. Each tile's geometry is cut to the tile's
    bounds (dropping the buffer that tile generators repeat in neighbouring tiles), and
    the pieces are joined again across tile edges: lines are merged and polygons
    unioned per distinct set of attribute values.
    """
    features: list[dict[str, Any]] = []
    geoms = []
    with zipfile.ZipFile(path) as zf:
        tiles = [(m, tuple(int(v) for v in _TILE_MEMBER.search(m).groups())) for m in zf.namelist()
                 if _TILE_MEMBER.search(m)]
        if not tiles:
            raise FetchError(f"{path}: no {{z}}/{{x}}/{{y}}.pbf tiles in the zip")
        zoom = max(z for _, (z, _x, _y) in tiles)
        for member, (z, x, y) in tiles:
            if z != zoom:
                continue
            data = zf.read(member)
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
            for layer_name, layer in decoded.items():
                extent = layer.get("extent", 4096)
                for feature in layer["features"]:
                    geom = shapely.clip_by_rect(shape(feature["geometry"]), 0, 0, extent, extent)
                    if geom.is_empty:
                        continue
                    geoms.append(_tile_to_lonlat(geom, z, x, y, extent))
                    features.append({**feature.get("properties", {}), "tile_layer": layer_name})
    if not geoms:
        raise FetchError(f"{path}: the tiles hold no features")
    pieces = gpd.GeoDataFrame(pd.DataFrame(features), geometry=geoms, crs=STORE_CRS)
    return _join_tile_pieces(pieces)


def _tile_to_lonlat(geom: Any, z: int, x: int, y: int, extent: int) -> Any:
    """Tile pixel coordinates (y down) of tile ``z/x/y`` to longitude/latitude."""
    n = 2.0**z

    def convert(coords: np.ndarray) -> np.ndarray:
        lon = (x + coords[:, 0] / extent) / n * 360.0 - 180.0
        lat = np.degrees(np.arctan(np.sinh(math.pi * (1 - 2 * (y + coords[:, 1] / extent) / n))))
        return np.column_stack([lon, lat])

    return shapely.transform(geom, convert)


def _join_tile_pieces(pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    keys = [c for c in pieces.columns if c != pieces.geometry.name]
    family = pieces.geometry.geom_type.str.replace("Multi", "")
    rows = []
    for (kind, *values), group in pieces.groupby([family, *keys], dropna=False, sort=False):
        merged = shapely.union_all(group.geometry.to_numpy())
        if kind == "LineString":
            merged = shapely.line_merge(merged)
        for part in shapely.get_parts(merged):
            rows.append({**dict(zip(keys, values)), "geometry": part})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=STORE_CRS)


def _read_kind(kind: str, paths: list[Path]) -> Any:
    """Read the files of one kind into what its normaliser expects."""
    path = paths[0]
    if kind in ("pvlib_altitude", "usgs_3dep"):
        return paths
    if kind == "hifld_volt_class_tiles":
        return read_vector_tiles(path)
    if path.suffix.lower() in (".csv", ".parquet"):
        return read_table(path)
    return read_vector(path)


# -- ingestion ---------------------------------------------------------------------------


def ingest_directory(
    directory: Path,
    ctx: NormalizeContext,
    layers: Collection[str] | None = None,
    *,
    on_error: ErrorHandler | None = None,
    progress: Progress | None = None,
) -> Iterator[NormalizedLayer]:
    """Yield the canonical layers made from the publishers' files under ``directory``.

    Parameters
    ----------
    directory
        Folder (searched recursively) holding the downloaded public files.
    ctx
        The request. When it has no state or county boundaries, they are taken from
        the states and counties layers read here (read even if not asked for).
    layers
        Canonical layer names to produce; ``None`` for every layer the files allow.
    on_error
        Called with ``(layer, error)`` for a file that cannot be read or normalised;
        that layer is skipped and the rest go on. Without it the error is raised.
    progress
        Called with ``(done, total, label)`` as each source is processed.

    Yields
    ------
    NormalizedLayer
        One per layer, states and counties first. A raster layer's ``raster_path`` is a
        temporary file that the caller owns.
    """
    plan = _plan(Path(directory))
    wanted = set(layers) if layers is not None else None
    jobs = _jobs_to_run(plan, ctx, wanted)
    produced: dict[str, str] = {}
    for index, job in enumerate(jobs):
        layer = layer_of(job.source_id)
        if progress is not None:
            progress(index, len(jobs), layer)
        if layer in produced:
            if job.source_id not in produced[layer]:
                log.info("%s: alternate form of layer %s, already made from %s; not used",
                         ", ".join(p.name for p in plan.files[job.kind]), layer, produced[layer])
            continue
        filler = next((j for j in jobs[index + 1:] if j.fills and layer_of(j.source_id) == layer), None)
        try:
            result = _run(job, plan, ctx)
            if filler is not None and result is not None and result.provenance.get("coverage_wkt"):
                result = _filled(result, job, filler, plan, ctx)
        except EmptyLayerError as exc:
            log.warning("layer %s: %s", layer, exc)
            continue
        except GeoError as exc:
            if on_error is None:
                raise
            on_error(layer, exc)
            continue
        if result is None:
            continue
        produced[layer] = result.provenance.get("combined_from", job.source_id)
        result.provenance.pop("combined_from", None)
        if layer == "states" and ctx.state_boundaries is None and result.frame is not None:
            ctx = replace(ctx, state_boundaries=result.frame)
        if layer == "counties" and ctx.county_boundaries is None and result.frame is not None:
            ctx = replace(ctx, county_boundaries=result.frame)
        if wanted is None or layer in wanted:
            yield result
    if progress is not None:
        progress(len(jobs), len(jobs), "done")


def _plan(directory: Path) -> _Plan:
    plan = _Plan()
    for found in scan_directory(directory):
        if found.kind is None:
            if found.path.suffix.lower() in _DOC_SUFFIXES:
                log.info("%s: documentation, not data; skipped", found.path)
            else:
                log.warning("%s: not a recognised public file; skipped", found.path)
            continue
        kind = _KINDS[found.kind]
        if kind.skip_reason:
            log.info("%s (%s): not used: %s", found.path, kind.description, kind.skip_reason)
            continue
        log.debug("%s recognised by %s as %s", found.path, found.by, kind.description)
        plan.files.setdefault(found.kind, []).append(found.path)
    for extra, reason in _EXTRA_ONLY.items():
        owner = next(job.kind for job in JOBS if extra in job.extras)
        if extra in plan.files and owner not in plan.files:
            log.info("%s: not used: %s", ", ".join(p.name for p in plan.files[extra]), reason)
    return plan


def _jobs_to_run(plan: _Plan, ctx: NormalizeContext, wanted: set[str] | None) -> list[Job]:
    """The jobs whose files are present, plus states/counties when later jobs need them."""
    chosen = [job for job in JOBS if job.kind in plan.files
              and (wanted is None or layer_of(job.source_id) in wanted)]
    needs_states = ctx.state_boundaries is None and any(
        layer_of(j.source_id) != "states" for j in chosen)
    needs_counties = ctx.county_boundaries is None and any(
        j.source_id in ("usdm_drought_proxy", "usgs_county_water_use") for j in chosen)
    if needs_counties:
        needs_states = True
    dependencies = {"census_states"} if needs_states else set()
    if needs_counties:
        dependencies.add("census_counties")
    return [job for job in JOBS
            if job in chosen or (job.source_id in dependencies and job.kind in plan.files)]


def _run(job: Job, plan: _Plan, ctx: NormalizeContext) -> NormalizedLayer | None:
    paths = plan.files[job.kind]
    if len(paths) > 1 and job.kind != "usgs_3dep":
        log.warning("%d files of kind %s; using %s", len(paths), job.kind, paths[0].name)
        paths = paths[:1]
    try:
        raw = _read_kind(job.kind, paths)
        extras = {name: _read_kind(name, plan.files[name][:1]) for name in job.extras if name in plan.files}
    except GeoError:
        raise
    except Exception as exc:  # readers raise many types for a damaged file
        raise FetchError(f"{paths[0]}: cannot read it as {_KINDS[job.kind].description}: {exc}") from exc
    if job.source_id == "gridkit_substations":
        raw = {"vertices": raw, "links": extras.get("gridkit_links")}
    elif job.source_id == "usdm_drought_proxy":
        raw = {"drought": raw, "water_use": extras.get("usgs_water_use")}
    inputs = [*paths, *(plan.files[name][0] for name in job.extras if name in plan.files)]
    try:
        if job.kind in ("pvlib_altitude", "usgs_3dep"):
            result = _normalize_raster(job.source_id, raw, ctx)
        else:
            result = normalize(job.source_id, raw, ctx)
    except EmptyLayerError:
        raise
    except LayerSchemaError as exc:
        raise LayerSchemaError(f"{paths[0]}: {exc}") from exc
    result.provenance["url"] = paths[0].resolve().as_uri()
    result.provenance["source_checksum"] = sha256_file(paths[0])
    result.provenance["notes"] = [
        *result.provenance["notes"], f"read offline from {', '.join(p.name for p in inputs)}"
    ]
    return result


def _filled(fine: NormalizedLayer, fine_job: Job, filler: Job, plan: _Plan,
            ctx: NormalizeContext) -> NormalizedLayer:
    """``fine``, a partial layer, with the area outside its coverage filled from ``filler``'s files."""
    fill = _run(filler, plan, ctx)
    combined = fill_outside_coverage(fine, fill, ctx, fine_id=fine_job.source_id, fill_id=filler.source_id)
    combined.provenance["source_checksum"] = fine.provenance["source_checksum"]
    combined.provenance["notes"].append(
        f"sha256 of {plan.files[filler.kind][0].name}: {fill.provenance['source_checksum']}")
    combined.provenance["combined_from"] = f"{fine_job.source_id}+{filler.source_id}"
    return combined


def _normalize_raster(source_id: str, paths: list[Path], ctx: NormalizeContext) -> NormalizedLayer:
    """Normalise one GeoTIFF, or a temporary mosaic of several tiles."""
    if len(paths) == 1:
        return normalize(source_id, paths[0], ctx)
    try:
        mosaic, transform = rasterio.merge.merge([str(p) for p in paths])
        with rasterio.open(paths[0]) as first:
            profile = {**first.profile, "height": mosaic.shape[1], "width": mosaic.shape[2],
                       "transform": transform, "count": mosaic.shape[0]}
    except rasterio.errors.RasterioError as exc:
        raise FetchError(f"cannot mosaic {', '.join(p.name for p in paths)}: {exc}") from exc
    fd, name = tempfile.mkstemp(prefix="geo-mosaic-", suffix=".tif")
    os.close(fd)
    try:
        with rasterio.open(name, "w", **profile) as dst:
            dst.write(mosaic)
        return normalize(source_id, Path(name), ctx)
    finally:
        Path(name).unlink(missing_ok=True)

