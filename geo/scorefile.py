"""Writing a table of scored places chunk by chunk, atomically: CSV, GeoJSON or GeoParquet.

The file is written under a temporary name beside its destination and renamed into
place only when every chunk is in, so a failure (a bad row, a full disk) leaves the
previous file as it was and no partial file behind.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from geopandas.io.arrow import _geopandas_to_arrow

from geo.atomic import write_error
from geo.errors import InputError

SUFFIXES = (".csv", ".geojson", ".parquet")


class ScoreFileWriter:
    """A context manager that appends chunks of scored places to one file and publishes it on success.

    Parameters
    ----------
    path
        The destination; its suffix (.csv, .geojson, .parquet) chooses the format.
        CSV drops the geometry; floats are rounded in CSV and GeoJSON as in the site tables.

    Raises
    ------
    InputError
        An unsupported suffix.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in SUFFIXES:
            raise InputError(f"{path}: unsupported output format {self.suffix!r}; use .csv, .geojson or .parquet")
        self.tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self.rows = 0
        self._text: IO[str] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> ScoreFileWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.suffix != ".parquet":
                self._text = open(self.tmp, "w", encoding="utf-8", newline="")
                if self.suffix == ".geojson":
                    self._text.write('{"type": "FeatureCollection", "features": [\n')
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        return self

    def write(self, frame: gpd.GeoDataFrame) -> None:
        """Append one chunk (a GeoDataFrame in EPSG:4326 with the same columns as the chunks before).

        Parameters
        ----------
        frame
            The chunk's scored places.
        """
        try:
            if self.suffix == ".csv":
                table = _rounded(pd.DataFrame(frame.drop(columns=frame.geometry.name)))
                table.to_csv(self._text, index=False, header=self.rows == 0)
            elif self.suffix == ".geojson":
                self._write_features(frame)
            else:
                self._write_parquet(frame)
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        self.rows += len(frame)

    def _write_features(self, frame: gpd.GeoDataFrame) -> None:
        assert self._text is not None
        properties = _rounded(pd.DataFrame(frame.drop(columns=frame.geometry.name)))
        geometries = shapely.to_geojson(frame.geometry.to_numpy())
        records = properties.to_dict(orient="records")
        for i, (record, geometry) in enumerate(zip(records, geometries, strict=True)):
            feature = json.dumps({"type": "Feature", "properties": {k: _json_value(v) for k, v in record.items()},
                                  "geometry": None}, allow_nan=False)
            separator = "" if self.rows == 0 and i == 0 else ",\n"
            self._text.write(separator + feature[:-len("null}")] + (geometry or "null") + "}")

    def _write_parquet(self, frame: gpd.GeoDataFrame) -> None:
        table = _geopandas_to_arrow(frame.reset_index(drop=True), index=False, write_covering_bbox=False)
        if self._parquet is None:
            metadata = dict(table.schema.metadata or {})
            geo = json.loads(metadata[b"geo"])
            for column in geo["columns"].values():
                column.pop("bbox", None)  # the first chunk's extent is not the file's
            metadata[b"geo"] = json.dumps(geo).encode()
            self._schema = table.schema.with_metadata(metadata)
            self._parquet = pq.ParquetWriter(self.tmp, self._schema)
        assert self._schema is not None
        self._parquet.write_table(table.cast(self._schema))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if self._text is not None:
                if kind is None and self.suffix == ".geojson":
                    self._text.write("\n]}\n")
                self._text.close()
            if self._parquet is not None:
                self._parquet.close()
            if kind is None:
                if self.rows == 0 and self.suffix == ".parquet":
                    raise InputError(f"{self.path}: no places to write")
                os.replace(self.tmp, self.path)
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        finally:
            self.tmp.unlink(missing_ok=True)


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Floats to 4 decimals (lon/lat to 5), as the site tables round them."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].astype("float64").round(5 if column in ("lon", "lat") else 4)
    return out


def _json_value(value: Any) -> Any:
    """A JSON-ready value: NaN becomes null, NumPy scalars become Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
