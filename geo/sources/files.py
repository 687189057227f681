"""Publishers' files on disk: recognising each by its name or fields, and reading it.

:func:`scan_directory` recognises every file under a directory against the file kinds
of the specs (:meth:`geo.sources.spec.SourceSpec.file_kinds`): by name pattern (the
most specific matching pattern wins) or, failing that, by its field names or, for a zip
of vector tiles, its tileset name. :func:`read_files` reads the files of one kind in
the form its publisher distributes it (zipped shapefile, GeoJSON, CSV, Parquet,
GeoTIFF, zip of Mapbox vector tiles).
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import json
import logging
import math
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely
from shapely.geometry import shape

from geo.errors import FetchError
from geo.sources.catalog import SPECS
from geo.sources.spec import FileKind
from geo.types import STORE_CRS

log = logging.getLogger(__name__)

_VECTOR_SUFFIXES = (".zip", ".geojson", ".json", ".gpkg", ".shp", ".fgb")
_TILE_MEMBER = re.compile(r"(?:^|/)(\d+)/(\d+)/(\d+)\.(?:pbf|mvt)$")
#: Every file kind the specs know, by key.
FILE_KINDS: dict[str, FileKind] = {kind.key: kind for spec in SPECS.values() for kind in spec.file_kinds()}


@dataclass(frozen=True)
class FoundFile:
    """A file of the directory and the kind it was recognised as (``None``: unrecognised)."""

    path: Path
    kind: str | None
    by: str = "name"


# -- recognising files -------------------------------------------------------------------


def scan_directory(directory: Path) -> list[FoundFile]:
    """Every file under ``directory`` (hidden ones excepted) with the kind it is recognised as.

    Parameters
    ----------
    directory
        The folder, searched recursively.

    Returns
    -------
    list of FoundFile
        Each file with its kind key (None when unrecognised) and how it was recognised.
    """
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
    """The kind whose longest matching pattern is longest: the most specific match."""
    name = path.name.lower()
    matches = [(len(pattern), kind.key) for kind in FILE_KINDS.values() for pattern in kind.patterns
               if fnmatch.fnmatch(name, pattern)]
    return max(matches)[1] if matches else None


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
    candidates = [k for k in FILE_KINDS.values() if k.fields and k.fields <= stripped]
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
        return next((kind.key for kind in FILE_KINDS.values() if kind.tileset and kind.tileset in name), None)
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


def read_vector(path: Path, **options: Any) -> gpd.GeoDataFrame:
    """A vector file (zipped shapefile, GeoJSON, GeoPackage, ...) as a GeoDataFrame.

    GDAL's warnings (an unclosed polygon ring, say) become part of the one error raised
    when the file cannot be read, instead of being printed ahead of it.

    Parameters
    ----------
    path
        The file.
    **options
        Passed to :func:`geopandas.read_file` (``bbox``, ``columns``).

    Returns
    -------
    GeoDataFrame
        Its features, in the file's CRS.

    Raises
    ------
    FetchError
        Naming the file and what is wrong with it.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = gpd.read_file(path, engine="pyogrio", use_arrow=True, **options)
        except Exception as exc:  # pyogrio and shapely raise their own types for damaged files
            raise FetchError(f"{path}: cannot read it: {_reason(exc, caught)}") from exc
    for warning in caught:
        log.warning("%s: %s", path, warning.message)
    return frame


def _reason(exc: Exception, caught: list[warnings.WarningMessage]) -> str:
    said = " ".join(str(w.message) for w in caught)
    if "closed" in f"{exc} {said}".lower() and "ring" in f"{exc} {said}".lower():
        return "a polygon ring is not closed (its first and last points differ)"
    return f"{exc}{f' ({said})' if said else ''}"


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (all columns as text, header found below any citation lines, ``--`` missing)
    or Parquet table; a GeoParquet file comes back as a GeoDataFrame.

    Parameters
    ----------
    path
        The ``.csv`` or ``.parquet`` file.

    Returns
    -------
    DataFrame
        The table.
    """
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

    Parameters
    ----------
    path
        The zip of tiles (gzip-compressed or plain).

    Returns
    -------
    geopandas.GeoDataFrame
        The tiles' attributes plus ``tile_layer``, one row per joined part.

    Raises
    ------
    FetchError
        When the zip holds no tiles or the tiles no features.
    """
    features: list[dict[str, Any]] = []
    geoms = []
    with zipfile.ZipFile(path) as zf:
        tiles = [(m, tuple(int(v) for v in match.groups())) for m in zf.namelist()
                 if (match := _TILE_MEMBER.search(m))]
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
            rows.append({**dict(zip(keys, values, strict=True)), "geometry": part})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=STORE_CRS)


#: Readers by :attr:`~geo.sources.spec.FileKind.read_as`; "auto" reads by suffix.
_READERS: dict[str, Callable[[list[Path]], Any]] = {
    "raster": list,
    "vector_tiles": lambda paths: read_vector_tiles(paths[0]),
    "auto": lambda paths: read_table(paths[0]) if paths[0].suffix.lower() in (".csv", ".parquet")
    else read_vector(paths[0]),
}


def read_files(kind: FileKind, paths: list[Path]) -> Any:
    """Read the files of one kind into what its normaliser expects.

    Parameters
    ----------
    kind
        The kind the files were recognised as.
    paths
        Its files; only rasters use more than the first (tiles to mosaic).

    Returns
    -------
    Any
        A GeoDataFrame, a table, or for rasters the list of paths.

    Raises
    ------
    FetchError
        When a file cannot be read, naming it.
    """
    try:
        return _READERS[kind.read_as](paths)
    except FetchError:
        raise
    except Exception as exc:  # readers raise many types for a damaged file
        raise FetchError(f"{paths[0]}: cannot read it as {kind.description}: {exc}") from exc
