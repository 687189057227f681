"""The layer store: canonical layers as GeoParquet (or GeoTIFF) with provenance beside them.

Layout on disk::

    <root>/<layer>/CURRENT                 name of the version in use
    <root>/<layer>/<version>/data.parquet  (data.tif for rasters)
    <root>/<layer>/<version>/provenance.json

A write builds a complete new version in a staging folder, validates it, moves it
into place and only then swaps ``CURRENT`` with an atomic rename. A write that
fails or is interrupted at any point leaves the previous version, its provenance
and ``CURRENT`` untouched.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd

from geo.atomic import atomic_write_text, replace_folder
from geo.errors import LayerNotFoundError, LayerSchemaError, StoreError
from geo.provenance import Provenance, sha256_file, utc_now
from geo.schema import SCHEMAS, schema_for, validate_layer, validate_raster

log = logging.getLogger(__name__)

#: A refresh may not shrink a layer below this share of its previous feature count without ``force``.
MIN_KEPT_SHARE = 0.5


class LayerStore:
    """Canonical layers kept on disk with their provenance.

    Parameters
    ----------
    root
        Folder of the store; created on first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LayerStore({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------

    def layers(self) -> list[str]:
        """Names of the layers the store holds, in schema order."""
        return [name for name in SCHEMAS if self.has(name)]

    def has(self, layer: str) -> bool:
        """Whether ``layer`` has a current version."""
        return self._current_dir(layer) is not None

    def provenance(self, layer: str) -> Provenance:
        """The provenance record of the current version of ``layer``."""
        path = self._require(layer) / "provenance.json"
        try:
            return Provenance.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"provenance of layer {layer!r} at {path} is unreadable: {exc}") from exc

    def read(self, layer: str) -> gpd.GeoDataFrame:
        """The current version of a vector layer, validated against its schema."""
        path = self.data_path(layer)
        try:
            frame = gpd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise StoreError(f"layer {layer!r} at {path} is unreadable: {exc}") from exc
        return validate_layer(layer, frame, where=str(path))

    def data_path(self, layer: str) -> Path:
        """Path of the current data file of ``layer`` (GeoParquet or GeoTIFF)."""
        return self._require(layer) / _data_name(layer)

    def version(self, layer: str) -> str:
        """The id of the current version of ``layer``."""
        return self._require(layer).name

    def provenances(self) -> dict[str, Provenance]:
        """Provenance of every stored layer."""
        return {name: self.provenance(name) for name in self.layers()}

    @property
    def cache_dir(self) -> Path:
        """Where downloads are kept between runs so that a refresh can resume."""
        return self.root / ".cache"

    # -- writing ---------------------------------------------------------------------------

    def write(
        self,
        layer: str,
        frame: gpd.GeoDataFrame,
        *,
        force: bool = False,
        **provenance: Any,
    ) -> Provenance:
        """Validate ``frame`` and make it the current version of ``layer``.

        ``provenance`` takes the fields of :class:`~geo.provenance.Provenance` that
        describe the source (``source``, ``url``, ``license``, ...); the checksum,
        feature count, CRS and (unless given) retrieval time are filled in here.

        Raises
        ------
        LayerSchemaError
            The frame does not match the schema, or it has collapsed to under half of
            the previous version's features and ``force`` is not set.
        """
        frame = validate_layer(layer, frame, where="new version")
        self._check_not_collapsed(layer, len(frame), force)
        with self._staging(layer) as staging:
            data = staging / _data_name(layer)
            frame.to_parquet(data, index=False, compression="zstd")
            return self._commit(layer, staging, data, len(frame), provenance)

    def write_raster(
        self, layer: str, source: str | os.PathLike[str], /, **provenance: Any
    ) -> Provenance:
        """Copy a GeoTIFF into the store as the current version of raster ``layer``.

        ``layer`` and the file ``source`` are positional, so that ``provenance`` can carry
        its own ``source`` (the publisher) as for :meth:`write`.
        """
        validate_raster(layer, str(source), where=str(source))
        with self._staging(layer) as staging:
            data = staging / _data_name(layer)
            shutil.copyfile(source, data)
            return self._commit(layer, staging, data, 1, provenance)

    def prune(self, layer: str, keep: int = 2) -> None:
        """Remove all but the ``keep`` newest versions of ``layer`` (the current one always stays)."""
        current = self._current_dir(layer)
        folder = self.root / layer
        if current is None:
            return
        versions = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
        for old in versions[:-keep] if keep > 0 else versions:
            if old != current:
                shutil.rmtree(old, ignore_errors=True)

    # -- internals -------------------------------------------------------------------------

    def _current_dir(self, layer: str) -> Path | None:
        pointer = self.root / layer / "CURRENT"
        if not pointer.is_file():
            return None
        version = pointer.read_text(encoding="utf-8").strip()
        folder = self.root / layer / version
        return folder if version and folder.is_dir() else None

    def _require(self, layer: str) -> Path:
        schema_for(layer)
        folder = self._current_dir(layer)
        if folder is None:
            raise LayerNotFoundError(
                f"the store at {self.root} holds no layer {layer!r}; run `geo refresh --layer {layer}`"
            )
        return folder

    def _check_not_collapsed(self, layer: str, count: int, force: bool) -> None:
        if force or not self.has(layer):
            return
        previous = self.provenance(layer).feature_count
        if count < MIN_KEPT_SHARE * previous:
            raise LayerSchemaError(
                f"layer {layer!r}: the new version has {count} features against {previous} before; "
                "refusing to replace it (use --force if the drop is real)"
            )

    @contextmanager
    def _staging(self, layer: str) -> Iterator[Path]:
        folder = self.root / layer
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".staging-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(
        self, layer: str, staging: Path, data: Path, count: int, fields: dict[str, Any]
    ) -> Provenance:
        checksum = sha256_file(data)
        fields.setdefault("retrieved_at", utc_now())
        try:
            record = Provenance(layer=layer, sha256=checksum, feature_count=count, **fields)
        except ValueError as exc:
            raise StoreError(f"layer {layer!r}: invalid provenance: {exc}") from exc
        (staging / "provenance.json").write_text(record.model_dump_json(indent=2), encoding="utf-8")
        version = f"{record.retrieved_at:%Y%m%dT%H%M%SZ}-{checksum[:10]}"
        target = self.root / layer / version
        replace_folder(staging, target)  # identical content retrieved in the same second is replaced
        atomic_write_text(self.root / layer / "CURRENT", version)
        log.info("stored layer %s version %s (%d features)", layer, version, count)
        return record


def _data_name(layer: str) -> str:
    return "data.tif" if schema_for(layer).geometry is None else "data.parquet"

