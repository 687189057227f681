"""Refresh the layer store from the public sources, or from a directory of their files.

For each layer the registry's sources are fetched (ArcGIS REST, Overpass, bulk files,
tables), normalised to the canonical schema and written to the store, which validates
the new version and swaps it in atomically. A layer that fails is reported and keeps its
previous version; the others go on. Boundaries come first so that later layers can be
clipped to the states.

A run keeps a small journal in the download cache. When a run is interrupted or some
layers fail, running the same command again (within :data:`RESUME_HOURS`) skips the
layers that were already stored, reuses every completed download and asks the services
only for the query pages and Overpass tiles it does not have yet. A download whose
publisher gives no checksum is fetched again once it is older than :data:`RESUME_HOURS`,
so that a later refresh sees the current file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import requests

from geo.errors import ConfigError, FetchError, GeoError, WriteError
from geo.schema import SCHEMAS, schema_for
from geo.sources import clean
from geo.sources.base import Fetched, FetchRequest, NormalizeContext, NormalizedLayer
from geo.sources.catalog import describe
from geo.sources.combine import merge_layers
from geo.sources.http import ResponseCache, make_session
from geo.sources.journal import Journal
from geo.sources.protocols import PROTOCOLS, describe_fetch, needs_area
from geo.sources.registry import Registry, load_registry
from geo.sources.spec import Source
from geo.store import LayerStore
from geo.types import STATE_FIPS

log = logging.getLogger(__name__)

Status = Literal["ok", "failed", "skipped", "dry-run"]
#: ``normalize(source_id, raw, ctx)``: publisher data to one canonical layer.
Normalizer = Callable[[str, Any, NormalizeContext], NormalizedLayer]
#: ``ingest(directory, ctx, layers, on_error=...)``: canonical layers found in a directory of
#: public files; ``on_error(layer, exc)`` reports a file that cannot be used and the rest go on.
Ingester = Callable[..., Iterator[NormalizedLayer]]
#: ``progress(layer, done, total, unit)``; ``unit`` is "features", "tiles" or "bytes".
ProgressCallback = Callable[[str, int, int | None, str], None]

#: A journal older than this is ignored and the run starts over.
RESUME_HOURS = 12
JOURNAL_NAME = "refresh-journal.json"
BOUNDARY_LAYERS = ("states", "counties")


@dataclass
class RefreshOutcome:
    """What happened to one layer."""

    layer: str
    source: str
    status: Status
    features: int | None = None
    seconds: float = 0.0
    message: str = ""


def refresh(
    store: LayerStore,
    *,
    layers: Sequence[str] | None = None,
    states: Sequence[str] = ("AZ", "NV", "UT"),
    force: bool = False,
    dry_run: bool = False,
    from_dir: str | os.PathLike[str] | None = None,
    registry: Registry | None = None,
    session: requests.Session | None = None,
    progress: ProgressCallback | None = None,
    normalizer: Normalizer | None = None,
    ingester: Ingester | None = None,
) -> list[RefreshOutcome]:
    """Refresh ``layers`` (default: every layer the registry refreshes by default).

    Parameters
    ----------
    store
        The layer store to update.
    layers
        Canonical layer names; boundaries are always handled first.
    states
        Two-letter codes of the states to cover.
    force
        Store a new version even when its feature count collapsed against the previous one.
    dry_run
        Only report what would be fetched and from where; no request is made.
    from_dir
        Read the publishers' files from this directory instead of the network.
    registry
        Source registry; the packaged one (with any ``GEO_SOURCES`` override) by default.
    session
        HTTP session; :func:`geo.sources.http.make_session` by default.
    progress
        Called as ``progress(layer, done, total, unit)`` while fetching.
    normalizer, ingester
        Replace :func:`geo.sources.catalog.normalize` and
        :func:`geo.sources.offline.ingest_directory`.

    Returns
    -------
    list of RefreshOutcome
        One per layer, in the order handled.
    """
    states = _check_states(states)
    registry = registry or load_registry()
    wanted = _plan(layers, registry, from_dir is not None)
    if dry_run:
        return _dry_run(store, wanted, states, registry, from_dir)
    try:
        key = _run_key(wanted, states, registry, from_dir)
        journal = Journal.open(store.cache_dir / JOURNAL_NAME, timedelta(hours=RESUME_HOURS), key)
        ctx = _context_from_store(store, states)
        if from_dir is not None:
            outcomes = _refresh_offline(store, Path(from_dir), wanted, ctx, force, journal, ingester, registry)
        else:
            runner = _OnlineRun(store, registry, ctx, force, journal, session or make_session(),
                                progress, normalizer or _default_normalizer())
            if ctx.state_boundaries is None and "states" not in wanted and _needs_area(registry, wanted):
                log.info("the store has no states layer; fetching it first to bound the queries")
                wanted = ["states", *wanted]
            outcomes = [runner.run(layer) for layer in wanted]
        if all(o.status != "failed" for o in outcomes):
            journal.close()
    except OSError as exc:
        local = _local_write_error(store, exc)
        if local is None:
            raise
        raise local from exc
    return outcomes


#: ``errno`` values that say a disk cannot take a write, and those that do when the file is in the store.
_DISK_FULL_OR_READ_ONLY = {errno.EROFS, errno.ENOSPC, errno.EDQUOT}
_NOT_PERMITTED = {errno.EACCES, errno.EPERM}


def _local_write_error(store: LayerStore, exc: BaseException) -> WriteError | None:
    """A :class:`WriteError` when ``exc`` (or what caused it) is a failed local write, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, WriteError):
            return seen
        if isinstance(seen, OSError) and (seen.errno in _DISK_FULL_OR_READ_ONLY or (
                seen.errno in _NOT_PERMITTED and _inside(seen.filename, store.root))):
            return WriteError(
                f"cannot write to the layer store {store.root}: {seen.strerror or seen}"
                f"{f' ({seen.filename})' if seen.filename else ''}. This is a local problem, not a public "
                "source: free disk space or make the store writable (--store or GEO_STORE), then run again; "
                "every layer keeps its previous version"
            )
        seen = seen.__cause__ or seen.__context__
    return None


# -- planning ----------------------------------------------------------------------------------


def _check_states(states: Sequence[str]) -> tuple[str, ...]:
    codes = tuple(s.strip().upper() for s in states if s.strip())
    unknown = [s for s in codes if s not in STATE_FIPS]
    if unknown or not codes:
        raise ConfigError(f"unknown states {unknown or list(states)}; expected some of {', '.join(STATE_FIPS)}")
    return codes


def _plan(layers: Sequence[str] | None, registry: Registry, offline: bool) -> list[str]:
    if layers is None:
        return list(SCHEMAS) if offline else registry.default_layers()
    for name in layers:
        schema_for(name)
    return [name for name in SCHEMAS if name in set(layers)]


def _needs_area(registry: Registry, layers: list[str]) -> bool:
    """Whether any source of ``layers`` is bounded by the states' extent."""
    return any(needs_area(source) for layer in layers for source in registry.sources(layer))


def _dry_run(
    store: LayerStore,
    wanted: list[str],
    states: tuple[str, ...],
    registry: Registry,
    from_dir: str | os.PathLike[str] | None,
) -> list[RefreshOutcome]:
    outcomes = []
    bbox = clean.area_bbox(_context_from_store(store, states))
    for layer in wanted:
        if from_dir is not None:
            outcomes.append(RefreshOutcome(layer, "files", "dry-run",
                                           message=f"would read the public files in {from_dir}"))
            continue
        sources = registry.sources(layer)
        if not sources:
            outcomes.append(RefreshOutcome(layer, "-", "skipped",
                                           message="no public source is registered for this layer"))
            continue
        lines = [describe_fetch(source, states, bbox) for source in sources]
        outcomes.append(RefreshOutcome(layer, sources[0].id, "dry-run", message="; or ".join(lines)))
    return outcomes


def _run_key(
    wanted: list[str], states: tuple[str, ...], registry: Registry, from_dir: str | os.PathLike[str] | None
) -> str:
    text = json.dumps(
        {
            "layers": wanted,
            "states": states,
            "from": str(Path(from_dir).resolve()) if from_dir is not None else None,
            "registry": registry.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _resumed(journal: Journal, layer: str) -> RefreshOutcome | None:
    entry = journal.done.get(layer)
    if entry is None:
        return None
    return RefreshOutcome(
        layer, entry["source"], "skipped", entry["features"],
        message=f"stored by the unfinished run started {journal.started:%Y-%m-%d %H:%M} UTC (resumed)",
    )


# -- context -----------------------------------------------------------------------------------


def _context_from_store(store: LayerStore, states: tuple[str, ...]) -> NormalizeContext:
    ctx = NormalizeContext(states=states)
    for layer in BOUNDARY_LAYERS:
        if store.has(layer):
            try:
                ctx = ctx.with_boundaries(layer, store.read(layer))
            except GeoError as exc:
                log.warning("cannot use the stored %s layer for clipping: %s", layer, exc)
    return ctx


# -- writing -----------------------------------------------------------------------------------


def _store_layer(store: LayerStore, normalized: NormalizedLayer, force: bool) -> int:
    fields = dict(normalized.provenance)
    notes = [*fields.pop("notes", []), *normalized.notes]
    fields["notes"] = list(dict.fromkeys(notes))
    if normalized.raster_path is not None:
        try:
            store.write_raster(normalized.layer, normalized.raster_path, **fields)
        finally:  # the normaliser hands over a temporary file
            Path(normalized.raster_path).unlink(missing_ok=True)
        return 1
    if normalized.frame is None:
        raise GeoError(f"layer {normalized.layer!r}: the normaliser produced neither a frame nor a raster")
    return store.write(normalized.layer, normalized.frame, force=force, **fields).feature_count


def _inside(filename: object, folder: Path) -> bool:
    return isinstance(filename, (str, os.PathLike)) and Path(filename).resolve().is_relative_to(folder.resolve())


def _failure(layer: str, source: str, exc: BaseException, started: float, store: LayerStore) -> RefreshOutcome:
    """The failed outcome of one layer; a failed local write stops the whole refresh instead."""
    local = _local_write_error(store, exc)
    if local is not None:
        raise local from exc
    log.debug("refreshing %s failed", layer, exc_info=exc)
    log.error("layer %s: %s", layer, exc)
    return RefreshOutcome(layer, source, "failed", seconds=time.monotonic() - started, message=str(exc))


# -- offline -----------------------------------------------------------------------------------


def _refresh_offline(
    store: LayerStore,
    directory: Path,
    wanted: list[str],
    ctx: NormalizeContext,
    force: bool,
    journal: Journal,
    ingester: Ingester | None,
    registry: Registry,
) -> list[RefreshOutcome]:
    if not directory.is_dir():
        raise ConfigError(f"--from {directory}: not a directory")
    ingest = ingester or _default_ingester()
    outcomes = [o for o in (_resumed(journal, layer) for layer in wanted) if o is not None]
    todo = [layer for layer in wanted if layer not in journal.done]
    started = time.monotonic()

    def on_error(layer: str, exc: Exception) -> None:  # a broken file fails its layer only
        outcomes.append(_failure(layer, str(directory), exc, started, store))

    layers = iter(ingest(directory, ctx, todo, on_error=on_error, registry=registry))
    while True:
        try:
            normalized = next(layers)
        except StopIteration:
            break
        except Exception as exc:  # the ingester itself broke off; report it and keep what was stored
            outcomes.append(_failure("(directory)", str(directory), exc, started, store))
            break
        try:
            outcomes.append(_store_offline(store, normalized, todo, force, journal, directory, started))
        finally:
            if normalized.raster_path is not None:  # a temporary file handed over by the ingester
                Path(normalized.raster_path).unlink(missing_ok=True)
        started = time.monotonic()
    return outcomes


def _store_offline(
    store: LayerStore,
    normalized: NormalizedLayer,
    todo: list[str],
    force: bool,
    journal: Journal,
    directory: Path,
    started: float,
) -> RefreshOutcome:
    source = str(normalized.provenance.get("source", directory))
    if normalized.layer not in todo:
        return RefreshOutcome(normalized.layer, source, "skipped", message="not asked for")
    try:
        count = _store_layer(store, normalized, force)
    except Exception as exc:  # one layer failing must not stop the others
        return _failure(normalized.layer, source, exc, started, store)
    journal.record(normalized.layer, source, count)
    return RefreshOutcome(normalized.layer, source, "ok", count, time.monotonic() - started)


def _default_ingester() -> Ingester:
    from geo.sources.offline import ingest_directory

    return ingest_directory


def _default_normalizer() -> Normalizer:
    from geo.sources.catalog import normalize

    return normalize


# -- online ------------------------------------------------------------------------------------


class _OnlineRun:
    """Fetches, normalises and stores one layer at a time."""

    def __init__(
        self,
        store: LayerStore,
        registry: Registry,
        ctx: NormalizeContext,
        force: bool,
        journal: Journal,
        session: requests.Session,
        progress: ProgressCallback | None,
        normalizer: Normalizer,
    ) -> None:
        self.store, self.registry, self.ctx, self.force = store, registry, ctx, force
        self.journal, self.session, self.progress, self.normalizer = journal, session, progress, normalizer

    def run(self, layer: str) -> RefreshOutcome:
        resumed = _resumed(self.journal, layer)
        if resumed is not None:
            return resumed
        sources = self.registry.sources(layer)
        if not sources:
            return RefreshOutcome(layer, "-", "skipped", message="no public source is registered for this layer")
        started = time.monotonic()
        label = sources[0].id
        try:
            if self.registry.layers[layer].mode == "merge":
                normalized = merge_layers(layer, [self._normalized(layer, s) for s in sources])
                label = "+".join(s.id for s in sources)
            else:
                normalized, label = self._first(layer, sources)
            count = _store_layer(self.store, normalized, self.force)
        except Exception as exc:  # one layer failing must not stop the others
            return _failure(layer, label, exc, started, self.store)
        self.journal.record(layer, label, count)
        for source in sources:  # stored: the answers kept for resuming are no longer needed
            self._answers(source).clear()
        if layer in BOUNDARY_LAYERS:
            self.ctx = self.ctx.with_boundaries(layer, self.store.read(layer))
        return RefreshOutcome(layer, label, "ok", count, time.monotonic() - started)

    def _answers(self, source: Source) -> ResponseCache:
        """The checked service answers of ``source``, kept so that a re-run resumes its queries."""
        return ResponseCache(self.store.cache_dir / "answers" / source.id, max_age=timedelta(hours=RESUME_HOURS))

    def _first(self, layer: str, sources: list[Source]) -> tuple[NormalizedLayer, str]:
        errors = []
        for source in sources:
            try:
                return self._normalized(layer, source), source.id
            except (GeoError, OSError, ValueError) as exc:
                if _local_write_error(self.store, exc) is not None:
                    raise
                log.warning("layer %s: source %s failed: %s", layer, source.id, exc)
                errors.append(f"{source.id}: {exc}")
        raise FetchError(f"every source failed: {' | '.join(errors)}")

    def _normalized(self, layer: str, source: Source) -> NormalizedLayer:
        fetched = self._fetch(layer, source)
        self._answers(source).clear()  # complete: only an interrupted fetch resumes from its answers
        normalized = self.normalizer(source.id, fetched.raw, self.ctx)
        if normalized.layer != layer:
            raise GeoError(f"source {source.id!r} was normalised to layer {normalized.layer!r}, not {layer!r}")
        fields = describe(normalized.provenance, source)
        fields["url"] = fetched.url  # where the data was read: the registry's address or a mirror
        fields.setdefault("states", list(self.ctx.states))
        if fetched.checksum:
            fields.setdefault("source_checksum", fetched.checksum)
        assert source.endpoint is not None
        fields["notes"] = [*source.endpoint.notes, *fields["notes"]]
        normalized.provenance = fields
        return normalized

    def _fetch(self, layer: str, source: Source) -> Fetched:
        assert source.endpoint is not None

        def report(unit: str) -> Callable[[int, int | None], None]:
            return lambda done, total: self.progress(layer, done, total, unit) if self.progress else None

        request = FetchRequest(self.session, self.store.cache_dir, self.ctx.states, clean.area_bbox(self.ctx),
                               self._answers(source), report, timedelta(hours=RESUME_HOURS))
        return PROTOCOLS[source.endpoint.protocol].fetch(source, request)
