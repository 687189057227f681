"""Bulk file downloads (zips, GeoJSON, CSV, GeoTIFF) through pooch.

``pooch.retrieve`` streams each download into a temporary file in the cache folder,
checks the sha256 when one is known and only then moves the file into place, so the
cache never holds half a file under its final name: an interrupted or failed download
leaves nothing behind, and a re-run reuses every file that was completed. Archives are
unpacked into a staging folder that is renamed into place once complete.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pooch
import requests

from geo.atomic import atomic_path, replace_folder
from geo.errors import ConfigError, FetchError
from geo.provenance import sha256_file
from geo.sources.base import Fetched, FetchRequest
from geo.sources.files import read_vector
from geo.sources.graphml import read_graphml_nodes
from geo.sources.http import make_session, request
from geo.sources.spec import Endpoint, Source

log = logging.getLogger(__name__)
# pooch announces every download on standard error; this module logs them itself
pooch.get_logger().setLevel(logging.WARNING)

#: Callback ``progress(bytes_done, bytes_total_or_None)``.
Progress = Callable[[int, int | None], None]

CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class Download:
    """A file in the download cache.

    ``path`` is the file itself, or the folder it was unpacked into for an archive;
    ``archive`` is the downloaded file and ``sha256`` its checksum.
    """

    url: str
    path: Path
    archive: Path
    sha256: str


class _SessionDownloader:
    """A pooch downloader that streams through the package's retrying session."""

    def __init__(self, session: requests.Session, progress: Progress | None) -> None:
        self.session = session
        self.progress = progress

    def __call__(self, url: str, output_file: str, _pooch: Any, check_only: bool = False) -> bool | None:
        response = request(self.session, url, method="HEAD" if check_only else "GET", stream=True)
        if check_only:
            response.close()
            return True
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        with response, open(output_file, "wb") as fh:
            for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
                fh.write(chunk)
                done += len(chunk)
                if self.progress is not None:
                    self.progress(done, total)
        if total is not None and done != total:
            raise FetchError(f"{url}: connection closed after {done} of {total} bytes")
        return None


class _AtomicUnzip:
    """A pooch processor that unpacks a zip into ``<archive>.unzip`` all at once."""

    def __call__(self, fname: str, action: str, pup: Any) -> Path:
        archive = Path(fname)
        target = archive.with_name(archive.name + ".unzip")
        if action == "fetch" and target.is_dir():
            return target
        for stale in archive.parent.glob(f".{target.name}.*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = archive.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        try:
            pooch.Unzip(extract_dir=str(staging))(fname, "download", pup)
            replace_folder(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def download(
    url: str,
    cache_dir: Path,
    *,
    known_hash: str | None = None,
    fname: str | None = None,
    unzip: bool = False,
    session: requests.Session | None = None,
    progress: Progress | None = None,
    max_age: timedelta | None = None,
) -> Download:
    """Download ``url`` into ``cache_dir`` (or reuse a completed earlier download).

    Parameters
    ----------
    url
        The file to fetch.
    cache_dir
        Download folder, normally :attr:`geo.store.LayerStore.cache_dir`.
    known_hash
        ``sha256`` hex digest published for the file, when the publisher gives one. A
        cached file whose hash does not match is downloaded again.
    fname
        Name in the cache; by default pooch derives a unique one from the URL.
    unzip
        Unpack the archive and return the folder of its files.
    session
        Session with retries and a User-Agent; a new one by default.
    progress
        Called as ``progress(bytes_done, bytes_total)`` while downloading.
    max_age
        Download again a cached file without a ``known_hash`` once it is older than this,
        so that a later refresh sees the publisher's current file; ``None`` reuses it forever.

    Returns
    -------
    Download
        The cached file (or unpacked folder), its archive and checksum.

    Raises
    ------
    FetchError
        Naming the URL: network failure, truncated transfer, checksum mismatch or a
        broken archive. Nothing is left in the cache under the file's name.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if known_hash is None and max_age is not None:
        _expire(cache_dir / (fname or pooch.utils.unique_file_name(url)), max_age)
    downloader = _SessionDownloader(session or make_session(), progress)
    try:
        result = pooch.retrieve(
            url,
            known_hash=f"sha256:{known_hash}" if known_hash else None,
            fname=fname,
            path=cache_dir,
            processor=_AtomicUnzip() if unzip else None,
            downloader=downloader,
        )
    except FetchError:
        raise
    except zipfile.BadZipFile as exc:
        _discard(cache_dir, fname, url)
        raise FetchError(f"{url}: the download is not a readable zip archive ({exc})") from exc
    except ValueError as exc:  # pooch's hash mismatch
        raise FetchError(f"{url}: {exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise FetchError(f"{url}: download failed ({exc})") from exc
    except OSError as exc:
        raise FetchError(f"{url}: could not store the download in {cache_dir}: {exc}") from exc
    path = Path(result)
    archive = path.with_name(path.name[: -len(".unzip")]) if unzip else path
    checksum = sha256_file(archive)
    log.info("%s -> %s (sha256 %s)", url, path, checksum[:12])
    return Download(url=url, path=path, archive=archive, sha256=checksum)


def _expire(path: Path, max_age: timedelta) -> None:
    """Forget a cached download (and its unpacked folder) older than ``max_age``."""
    if path.is_file() and time.time() - path.stat().st_mtime > max_age.total_seconds():
        log.info("%s is older than %s; downloading it again", path, max_age)
        path.unlink()
        shutil.rmtree(path.with_name(path.name + ".unzip"), ignore_errors=True)


def _discard(cache_dir: Path, fname: str | None, url: str) -> None:
    """Remove a cached file that turned out unusable, so the next run downloads it again."""
    name = fname or pooch.utils.unique_file_name(url)
    (cache_dir / name).unlink(missing_ok=True)


def fetch(source: Source, request: FetchRequest) -> Fetched:
    """Download ``source``'s file (or its tiles) and read it (the ``bulk`` protocol).

    Parameters
    ----------
    source
        A source with a bulk endpoint: one file, or ``url_template`` tiles to mosaic.
    request
        The states, area, session, download folder and progress of this refresh.

    Returns
    -------
    Fetched
        A GeoDataFrame, a table of GraphML nodes, or a GeoTIFF path; the address read
        and the file's sha256.
    """
    endpoint = source.endpoint
    assert endpoint is not None
    if endpoint.url_template is not None:
        return _tiles(source, request)
    path, fetched = _download(source, request)
    if endpoint.format == "graphml":
        raw: Any = read_graphml_nodes(sorted(path.glob(f"**/{endpoint.member or '*.graphml'}")))
    else:
        raw = _read_bulk(endpoint, path, request.bbox if endpoint.bbox_filter else None)
    return Fetched(raw, fetched.url, fetched.checksum)


def fetch_table(source: Source, request: FetchRequest) -> Fetched:
    """Download ``source``'s CSV or Excel table and read it (the ``table`` protocol).

    Parameters
    ----------
    source
        A source with a table endpoint and its ``table`` section.
    request
        The session, download folder and progress of this refresh.

    Returns
    -------
    Fetched
        The table, the address read and the file's sha256.
    """
    path, fetched = _download(source, request)
    assert source.endpoint is not None
    return Fetched(_read_table(source.endpoint, path), fetched.url, fetched.checksum)


def _download(source: Source, request: FetchRequest) -> tuple[Path, Fetched]:
    endpoint = source.endpoint
    assert endpoint is not None
    done = download(endpoint.resolve_urls(request.states)[0], request.cache_dir, known_hash=endpoint.sha256,
                    unzip=_is_zip(endpoint), session=request.session, progress=request.progress("bytes"),
                    max_age=request.max_age)
    return done.path, Fetched(None, done.url, done.sha256)


def _tiles(source: Source, request: FetchRequest) -> Fetched:
    endpoint = source.endpoint
    assert endpoint is not None and endpoint.resolution_deg is not None
    if request.bbox is None:
        raise FetchError(f"source {source.id!r} needs the states layer to choose its tiles")
    urls = endpoint.resolve_urls(request.states, request.bbox)
    report = request.progress("tiles")
    paths = []
    for done, url in enumerate(urls, start=1):
        paths.append(download(url, request.cache_dir, session=request.session, max_age=request.max_age).path)
        report(done, len(urls))
    mosaic = _mosaic(paths, request.bbox, endpoint.resolution_deg, request.cache_dir / f"{source.id}-mosaic.tif")
    return Fetched(mosaic, f"{len(urls)} tiles like {urls[0]}")


def _is_zip(endpoint: Endpoint) -> bool:
    return (endpoint.url or "").split("?")[0].lower().endswith(".zip")


def _member(folder: Path, pattern: str | None, endpoint: Endpoint) -> Path:
    if not folder.is_dir():
        return folder
    if pattern is None:
        raise ConfigError(f"{endpoint.url}: the archive needs a `member` naming the file to read")
    matches = sorted(folder.glob(pattern)) or sorted(folder.glob(f"**/{pattern}"))
    if not matches:
        raise FetchError(f"{endpoint.url}: the archive has no {pattern!r}")
    return matches[0]


def _read_bulk(endpoint: Endpoint, path: Path, bbox: tuple[float, float, float, float] | None) -> Any:
    target = _member(path, endpoint.member, endpoint)
    if target.suffix.lower() in (".tif", ".tiff"):
        return target
    try:
        frame = read_vector(target, bbox=bbox, columns=endpoint.columns)
    except FetchError as exc:
        raise FetchError(f"{endpoint.url}: {exc}") from exc
    if endpoint.join is not None:
        table_path = _member(path, endpoint.join.member, endpoint)
        try:
            table = pd.read_csv(table_path, usecols=endpoint.join.columns)
        except (OSError, ValueError) as exc:
            raise FetchError(f"{endpoint.url}: cannot read {table_path.name}: {exc}") from exc
        frame = frame.merge(table, on=endpoint.join.key, how="left", validate="many_to_one")
    return frame


def _read_table(endpoint: Endpoint, path: Path) -> pd.DataFrame:
    spec = endpoint.table
    assert spec is not None
    dtype = {c: "string" for c in spec.text_columns}
    try:
        if endpoint.format.lower() in ("xls", "xlsx", "excel"):
            return pd.read_excel(path, sheet_name=spec.sheet or 0, header=spec.header,
                                 na_values=spec.na_values, dtype=dtype)
        return pd.read_csv(path, header=spec.header, na_values=spec.na_values, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise FetchError(f"{endpoint.url}: cannot read the table: {exc}") from exc


def _mosaic(paths: list[Path], bbox: tuple[float, float, float, float], resolution: float, target: Path) -> Path:
    """Mosaic elevation tiles at ``resolution`` degrees into one GeoTIFF (written atomically)."""
    import rasterio
    from rasterio.merge import merge

    sources = [rasterio.open(p) for p in paths]
    try:
        array, transform = merge(sources, bounds=bbox, res=resolution, resampling=rasterio.enums.Resampling.average)
        profile = {
            "driver": "GTiff", "height": array.shape[1], "width": array.shape[2], "count": 1,
            "dtype": array.dtype, "crs": sources[0].crs, "transform": transform,
            "nodata": sources[0].nodata, "compress": "deflate",
        }
    finally:
        for src in sources:
            src.close()
    with atomic_path(target) as staging, rasterio.open(staging, "w", **profile) as dst:
        dst.write(array[:1])
    return target

