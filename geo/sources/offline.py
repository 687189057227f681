"""Offline ingestion: the publishers' files, downloaded elsewhere, read from a directory.

:func:`ingest_directory` is a loop over the specs: it recognises the files of the
directory (:mod:`geo.sources.files`), and for each layer, in schema order, normalises
the first spec whose files are present. A spec marked ``fills`` fills in where an
earlier, partial spec of the same layer does not reach (PAD-US's Great Basin filled
with the National Atlas elsewhere); other specs with files are logged as alternates.
Files that are recognised but deliberately not used are logged with the reason;
unrecognised files are logged and skipped.

Errors: a recognised file that cannot be read raises :class:`~geo.errors.FetchError`
naming the file, and one whose content does not normalise raises
:class:`~geo.errors.LayerSchemaError` naming it. When ``on_error`` is given, the
error is passed to it instead, that layer is skipped and ingestion goes on, so an
orchestrator can mark the layer failed and keep the rest.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import rasterio.errors
import rasterio.merge

from geo.errors import EmptyLayerError, FetchError, GeoError, LayerSchemaError
from geo.provenance import sha256_file
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.catalog import LAYERS, normalize
from geo.sources.combine import fill_outside_coverage
from geo.sources.files import FILE_KINDS, read_files, read_vector_tiles, scan_directory
from geo.sources.registry import Registry
from geo.sources.spec import Source, SourceSpec

__all__ = ["ingest_directory", "read_vector_tiles", "scan_directory"]

log = logging.getLogger(__name__)

ErrorHandler = Callable[[str, Exception], None]
Progress = Callable[[int, int, str], None]

_DOC_SUFFIXES = (".md", ".txt", ".pdf", ".html", ".xml")
#: Layers that later layers are clipped to or joined with, in the order they are needed.
_BOUNDARIES = ("states", "counties")


def ingest_directory(
    directory: Path,
    ctx: NormalizeContext,
    layers: Collection[str] | None = None,
    *,
    on_error: ErrorHandler | None = None,
    progress: Progress | None = None,
    registry: Registry | None = None,
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
    registry
        The sources with the user's override of titles and licences; the specs' by default.

    Yields
    ------
    NormalizedLayer
        One per layer, states and counties first. A raster layer's ``raster_path`` is a
        temporary file that the caller owns.
    """
    files = _recognised(Path(directory))
    wanted = set(layers) if layers is not None else None
    jobs = _jobs(files, ctx, wanted)
    for index, (spec, filler) in enumerate(jobs):
        if progress is not None:
            progress(index, len(jobs), spec.layer)
        source = registry.source(spec.id) if registry is not None else None
        try:
            result = _run(spec, files, ctx, source)
            if filler is not None and result.provenance.get("coverage_wkt"):
                result = _filled(result, spec, filler, files, ctx, registry)
        except EmptyLayerError as exc:
            log.warning("layer %s: %s", spec.layer, exc)
            continue
        except GeoError as exc:
            if on_error is None:
                raise
            on_error(spec.layer, exc)
            continue
        if spec.layer in _BOUNDARIES and result.frame is not None:
            ctx = _with_boundary(ctx, spec.layer, result)
        if wanted is None or spec.layer in wanted:
            yield result
    if progress is not None:
        progress(len(jobs), len(jobs), "done")


def _recognised(directory: Path) -> dict[str, list[Path]]:
    """The usable files of ``directory`` by kind; the others are logged."""
    files: dict[str, list[Path]] = {}
    for found in scan_directory(directory):
        if found.kind is None:
            if found.path.suffix.lower() in _DOC_SUFFIXES:
                log.info("%s: documentation, not data; skipped", found.path)
            else:
                log.warning("%s: not a recognised public file; skipped", found.path)
            continue
        kind = FILE_KINDS[found.kind]
        if kind.skip_reason:
            log.info("%s (%s): not used: %s", found.path, kind.description, kind.skip_reason)
            continue
        log.debug("%s recognised by %s as %s", found.path, found.by, kind.description)
        files.setdefault(found.kind, []).append(found.path)
    return files


def _has_files(spec: SourceSpec, files: dict[str, list[Path]]) -> bool:
    return spec.files is not None and spec.files.main.key in files


def _jobs(files: dict[str, list[Path]], ctx: NormalizeContext,
          wanted: set[str] | None) -> list[tuple[SourceSpec, SourceSpec | None]]:
    """Per layer with files, the first spec that has them and its filler; boundaries when later ones need them."""
    chosen: dict[str, tuple[SourceSpec, SourceSpec | None]] = {}
    for name, entry in LAYERS.items():
        present = [s for s in entry.sources if _has_files(s, files)]
        _log_unused_extras(entry.sources, present, files)
        if not present:
            continue
        first, rest = present[0], present[1:]
        filler = next((s for s in rest if s.fills), None)
        for other in rest:
            if other is not filler:
                log.info("%s: alternate form of layer %s, made from %s; not used",
                         ", ".join(p.name for p in files[other.files.main.key]), name, first.id)  # type: ignore[union-attr]
        chosen[name] = (first, filler)
    asked = [spec for name, (spec, _) in chosen.items() if wanted is None or name in wanted]
    needs = {
        "counties": ctx.county_boundaries is None and any(s.needs_counties for s in asked),
        "states": ctx.state_boundaries is None and any(s.layer != "states" for s in asked),
    }
    needs["states"] = needs["states"] or needs["counties"]
    return [job for name, job in chosen.items() if wanted is None or name in wanted or needs.get(name, False)]


def _log_unused_extras(specs: tuple[SourceSpec, ...], present: list[SourceSpec],
                       files: dict[str, list[Path]]) -> None:
    for spec in specs:
        if spec.files is None or spec in present or spec.files.extra_only is None:
            continue
        for kind in spec.files.extras.values():
            if kind.key in files:
                log.info("%s: not used: %s", ", ".join(p.name for p in files[kind.key]), spec.files.extra_only)


def _with_boundary(ctx: NormalizeContext, layer: str, result: NormalizedLayer) -> NormalizeContext:
    """``ctx`` with the boundaries just read, unless it already had them."""
    known = ctx.state_boundaries if layer == "states" else ctx.county_boundaries
    return ctx if known is not None or result.frame is None else ctx.with_boundaries(layer, result.frame)


def _run(spec: SourceSpec, files: dict[str, list[Path]], ctx: NormalizeContext,
         source: Source | None) -> NormalizedLayer:
    """Read a spec's files and normalise them, with the files' address and checksum as provenance."""
    assert spec.files is not None
    main = spec.files.main
    paths = files[main.key]
    if len(paths) > 1 and main.read_as != "raster":
        log.warning("%d files of kind %s; using %s", len(paths), main.key, paths[0].name)
        paths = paths[:1]
    raw = read_files(main, paths)
    inputs = list(paths)
    if spec.files.extras:
        parts = {spec.files.main_key or main.key: raw}
        for name, kind in spec.files.extras.items():
            extra = files.get(kind.key, [])[:1]
            parts[name] = read_files(kind, extra) if extra else None
            inputs += extra
        raw = parts
    try:
        if main.read_as == "raster":
            result = _normalize_raster(spec.id, raw, ctx, source)
        else:
            result = normalize(spec.id, raw, ctx, source)
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


def _filled(fine: NormalizedLayer, fine_spec: SourceSpec, filler: SourceSpec, files: dict[str, list[Path]],
            ctx: NormalizeContext, registry: Registry | None) -> NormalizedLayer:
    """``fine``, a partial layer, with the area outside its coverage filled from ``filler``'s files."""
    fill = _run(filler, files, ctx, registry.source(filler.id) if registry is not None else None)
    combined = fill_outside_coverage(fine, fill, ctx, fine_id=fine_spec.id, fill_id=filler.id)
    combined.provenance["source_checksum"] = fine.provenance["source_checksum"]
    combined.provenance["notes"].append(
        f"sha256 of {files[filler.files.main.key][0].name}: {fill.provenance['source_checksum']}")  # type: ignore[union-attr]
    return combined


def _normalize_raster(source_id: str, paths: list[Path], ctx: NormalizeContext,
                      source: Source | None) -> NormalizedLayer:
    """Normalise one GeoTIFF, or a temporary mosaic of several tiles."""
    if len(paths) == 1:
        return normalize(source_id, paths[0], ctx, source)
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
        return normalize(source_id, Path(name), ctx, source)
    finally:
        Path(name).unlink(missing_ok=True)

