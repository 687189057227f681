"""The layer store: canonical layers as GeoParquet (or GeoTIFF) with provenance beside them.

Layout on disk::

    <root>/<layer>/CURRENT                 name of the version in use
    <root>/<layer>/<version>/data.parquet  (data.tif for rasters)
    <root>/<layer>/<version>/provenance.json

A write builds a complete new version in a staging folder, validates it, moves it
into place and only then swaps ``CURRENT`` with an atomic rename. A write that
fails or is interrupted at any point leaves the previous version, its provenance
and ``CURRENT`` untouched.

After a successful write the store prunes the layer: it keeps the ``keep_versions``
newest versions (the current one always) and removes staging folders left behind by
writes that were killed. Every write holds a shared lock on ``<root>/<layer>/.lock``
while its staging folder exists, and pruning needs the exclusive lock, so it never
runs while another process is writing the same layer: it is skipped, and the next
write does it (:mod:`geo.staging`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import rasterio
from rasterio.windows import Window

from geo.atomic import atomic_write_text, replace_folder
from geo.errors import GeoError, LayerNotFoundError, LayerSchemaError, StoreError
from geo.provenance import Provenance, sha256_file, utc_now
from geo.schema import SCHEMAS, schema_for, validate_layer, validate_raster
from geo.staging import STAGING_PREFIX, layer_lock, staging_folder

log = logging.getLogger(__name__)

#: A refresh may not shrink a layer below this share of its previous feature count without ``force``.
MIN_KEPT_SHARE = 0.5
#: The store used when none is asked for (no ``--store``, no ``GEO_STORE``).
DEFAULT_STORE = Path("data/store")
#: Versions of each layer kept on disk: the current one and the ones before it.
KEEP_VERSIONS = 3


class LayerStore:
    """Canonical layers kept on disk with their provenance.

    Parameters
    ----------
    root
        Folder of the store; created on first write.
    keep_versions
        Versions of each layer kept after a write, the current one included (at least 1).
    """

    def __init__(self, root: str | os.PathLike[str], *, keep_versions: int = KEEP_VERSIONS) -> None:
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be at least 1, got {keep_versions}")
        self.root = Path(root)
        self.keep_versions = keep_versions

    def __repr__(self) -> str:
        return f"LayerStore({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------

    def layers(self) -> list[str]:
        """Names of the layers the store holds, in schema order.

        Returns
        -------
        list[str]
            Layers with a current version.
        """
        return [name for name in SCHEMAS if self.has(name)]

    def has(self, layer: str) -> bool:
        """Whether ``layer`` has a current version.

        Parameters
        ----------
        layer
            A canonical layer name.

        Returns
        -------
        bool
            True when the store holds it.
        """
        return self._current_dir(layer) is not None

    def provenance(self, layer: str) -> Provenance:
        """The provenance record of the current version of ``layer``.

        Parameters
        ----------
        layer
            A layer the store holds.

        Returns
        -------
        Provenance
            Source, licence, checksum, count and retrieval time of the stored data.

        Raises
        ------
        StoreError
            The provenance file is damaged, naming the layer and file.
        """
        path = self._require(layer) / "provenance.json"
        try:
            return Provenance.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise self._damaged(layer, path, "provenance", exc) from exc

    def read(self, layer: str) -> gpd.GeoDataFrame:
        """The current version of a vector layer, validated against its schema.

        Parameters
        ----------
        layer
            A vector layer the store holds.

        Returns
        -------
        geopandas.GeoDataFrame
            Its features in EPSG:4326, with the schema's columns.

        Raises
        ------
        StoreError
            The data file is damaged (truncated, overwritten), naming the layer and file.
        """
        path = self.data_path(layer)
        try:
            frame = gpd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise self._damaged(layer, path, "data", exc) from exc
        return validate_layer(layer, frame, where=str(path))

    def data_path(self, layer: str) -> Path:
        """Path of the current data file of ``layer`` (GeoParquet or GeoTIFF).

        A raster is opened and its first and last pixels read, so that a damaged or
        truncated file is reported here rather than deep inside an analysis.

        Parameters
        ----------
        layer
            A layer the store holds.

        Returns
        -------
        Path
            ``data.parquet`` or ``data.tif`` in the current version's folder.

        Raises
        ------
        StoreError
            The raster is damaged, naming the layer and file.
        """
        path = self._require(layer) / _data_name(layer)
        if schema_for(layer).geometry is None:
            try:
                _read_corners(path)
            except rasterio.errors.RasterioError as exc:
                raise self._damaged(layer, path, "data", exc) from exc
        return path

    def version(self, layer: str) -> str:
        """The id of the current version of ``layer``.

        Parameters
        ----------
        layer
            A layer the store holds.

        Returns
        -------
        str
            The version folder's name: retrieval time and the start of the checksum.
        """
        return self._require(layer).name

    def provenances(self) -> dict[str, Provenance]:
        """Provenance of every stored layer.

        Returns
        -------
        dict[str, Provenance]
            Records by layer name, in schema order.
        """
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

        The checksum, feature count, CRS and (unless given) retrieval time are filled in here.

        Parameters
        ----------
        layer
            A canonical vector layer name.
        frame
            Its features in EPSG:4326, with the schema's columns.
        force
            Store it even when it has under half the previous version's features.
        **provenance
            Fields of :class:`~geo.provenance.Provenance` that describe the source
            (``source``, ``url``, ``license``, ...).

        Returns
        -------
        Provenance
            The record stored beside the new version.

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
            record = self._commit(layer, staging, data, len(frame), provenance)
        self.prune(layer)
        return record

    def write_raster(
        self, layer: str, source: str | os.PathLike[str], /, **provenance: Any
    ) -> Provenance:
        """Copy a GeoTIFF into the store as the current version of raster ``layer``.

        Parameters
        ----------
        layer
            A canonical raster layer name.
        source
            The GeoTIFF to copy (positional, so that ``provenance`` can carry its own
            ``source``, the publisher, as for :meth:`write`).
        **provenance
            Fields of :class:`~geo.provenance.Provenance` that describe the source.

        Returns
        -------
        Provenance
            The record stored beside the new version.
        """
        validate_raster(layer, str(source), where=str(source))
        with self._staging(layer) as staging:
            data = staging / _data_name(layer)
            shutil.copyfile(source, data)
            record = self._commit(layer, staging, data, 1, provenance)
        self.prune(layer)
        return record

    def prune(self, layer: str, keep: int | None = None) -> list[Path]:
        """Remove old versions of ``layer`` and staging folders left by interrupted writes.

        Nothing is removed while another process writes ``layer`` (its shared lock is
        held): pruning is then skipped, and left to the next write.

        Parameters
        ----------
        layer
            The layer to prune.
        keep
            Versions to keep, newest first (default ``keep_versions``); the current
            version always stays.

        Returns
        -------
        list of Path
            The folders removed (empty when another write was in progress).
        """
        keep = self.keep_versions if keep is None else keep
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        folder = self.root / layer
        if not folder.is_dir():
            return []
        with layer_lock(folder, exclusive=True) as locked:
            if not locked:
                log.debug("not pruning layer %s: another write is in progress", layer)
                return []
            current = self._current_dir(layer)
            versions = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                              key=lambda p: p.name, reverse=True)
            others = [p for p in versions if p != current]
            doomed = others[keep - 1:] if current is not None else versions[keep:]
            doomed += [p for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX)]
            for path in doomed:
                shutil.rmtree(path, ignore_errors=True)
        if doomed:
            log.info("pruned layer %s: removed %s", layer, ", ".join(p.name for p in doomed))
        return doomed

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

    def _damaged(self, layer: str, path: Path, what: str, exc: Exception) -> StoreError:
        """The error for a stored file that cannot be read, with how to store the layer again."""
        reason = " ".join(str(exc).split())
        return StoreError(
            f"layer {layer!r} at {path} is unreadable: its stored {what} is damaged ({reason}); "
            f"store the layer again with `geo refresh --store {self.root} --layer {layer}`"
        )

    @contextmanager
    def _staging(self, layer: str) -> Iterator[Path]:
        """A fresh staging folder for a new version of ``layer``, under the layer's shared lock.

        A failure of the file system (a full disk, a read-only store) becomes a
        :class:`StoreError` that says the previous version is kept.
        """
        try:
            with staging_folder(self.root / layer) as staging:
                yield staging
        except GeoError:
            raise
        except OSError as exc:
            raise StoreError(
                f"layer {layer!r}: cannot write to the store at {self.root} ({exc}); the previous version is kept. "
                "Free disk space or make the folder writable, then run the same command again"
            ) from exc

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


def _read_corners(path: Path) -> None:
    """Open a raster and read its first and last pixels: a truncated file fails here."""
    with rasterio.open(path) as src:
        src.read(1, window=Window(0, 0, 1, 1))
        src.read(1, window=Window(src.width - 1, src.height - 1, 1, 1))


def resolve_store(path: str | os.PathLike[str] | None) -> LayerStore | None:
    """The layer store to analyse, or None when the caller may use the demo region instead.

    Parameters
    ----------
    path
        The store asked for (``--store`` or ``GEO_STORE``), or None when none was.

    Returns
    -------
    LayerStore or None
        The store at ``path``; with no ``path``, the default store when it holds
        layers, else None.

    Raises
    ------
    LayerNotFoundError
        A store was asked for and its folder does not exist or holds no layers: a
        mistyped path must never silently become the synthetic demo region.
    """
    if path is None:
        store = LayerStore(DEFAULT_STORE)
        return store if store.layers() else None
    store = LayerStore(path)
    if not store.root.is_dir():
        problem = "there is no such folder"
    elif not store.layers():
        problem = "it holds no layers"
    else:
        return store
    raise LayerNotFoundError(
        f"no layer store at {store.root}: {problem}. Fill it with `geo refresh --store {store.root}`, "
        "or give neither --store nor GEO_STORE to try the SYNTHETIC demo region"
    )

