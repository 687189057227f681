"""Atomic writes: readers see the old file or folder or the new one, never half of one.

Every writer here builds its result beside the target (a hidden temporary file or
staging folder in the same directory, so the final rename never crosses a file
system) and renames it into place only when it is complete. A failure at any point,
a full disk included, removes the temporary and leaves the previous file untouched.
Failures to write are raised as :class:`~geo.errors.WriteError`, which names the
path and is also an ``OSError``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geo.errors import WriteError

#: A staging folder unchanged for this long (seconds) was left by a killed writer.
STALE_STAGING_S = 24 * 3600

#: Permissions of written files (``mkstemp`` creates 0600; outputs are meant to be shared).
FILE_MODE = 0o644


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Parameters
    ----------
    path
        The file to write; its folder is created when missing.
    text
        The whole content.

    Raises
    ------
    WriteError
        The file could not be written (full disk, read-only folder); the previous file is kept.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, flushed to disk before the rename.

    Parameters
    ----------
    path
        The file to write; its folder is created when missing.
    data
        The whole content.

    Raises
    ------
    WriteError
        The file could not be written; the previous file is kept.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that needs a file name; renamed onto ``path`` on success.

    The temporary keeps the target's suffix, so writers that choose a format by the
    suffix (GeoPandas, rasterio) write the right one.

    Parameters
    ----------
    path
        The file to write; its folder is created when missing.

    Returns
    -------
    Iterator[Path]
        The temporary path to write to (it does not exist yet).

    Raises
    ------
    WriteError
        Writing or renaming failed with an ``OSError``; the temporary is removed and the
        previous file kept.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
        os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from exc
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from exc
    finally:
        _remove(tmp)


@contextmanager
def staging_folder(parent: Path, name: str) -> Iterator[Path]:
    """A new hidden folder ``<parent>/.staging-<name>-<random>`` that is removed unless moved away.

    Parameters
    ----------
    parent
        Where the staging folder is made (beside the folder it will replace).
    name
        Part of the staging folder's name, to tell what it was for.

    Returns
    -------
    Iterator[Path]
        The empty staging folder; move it into place with :func:`replace_folder`.
    """
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".staging-{name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as exc:
        raise write_error(parent, exc) from exc
    try:
        yield staging
    finally:
        _remove(staging)


def remove_stale_staging(parent: Path, older_than_s: float = STALE_STAGING_S) -> list[Path]:
    """Remove staging folders in ``parent`` that a killed writer left behind.

    A folder counts as left behind when it has not changed for ``older_than_s`` seconds:
    a writer that is still at work touches its staging folder far more often than that.

    Parameters
    ----------
    parent
        The folder holding staging folders (``.staging-*``).
    older_than_s
        Age, in seconds since the last change, from which a staging folder is stale.

    Returns
    -------
    list of Path
        The folders removed.
    """
    now = time.time()
    removed = []
    for path in parent.glob(".staging-*"):
        try:
            stale = now - path.stat().st_mtime > older_than_s
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        if stale:
            _remove(path)
            removed.append(path)
    return removed


def replace_folder(staging: Path, final: Path) -> None:
    """Move a complete staging folder onto ``final``, replacing any folder there.

    Parameters
    ----------
    staging
        A complete folder in the same directory as ``final``.
    final
        Where it goes.

    Raises
    ------
    WriteError
        The folder could not be moved.
    """
    try:
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except OSError as exc:
        raise write_error(final, exc) from exc


def write_error(path: Path, exc: OSError) -> WriteError:
    """A :class:`WriteError` naming ``path`` and the reason the system gave (already one: unchanged).

    Parameters
    ----------
    path
        The file or folder that could not be written.
    exc
        The system's error.

    Returns
    -------
    WriteError
        ``exc`` itself when it already is one, else a new error with its ``errno``.
    """
    if isinstance(exc, WriteError):
        return exc
    error = WriteError(f"cannot write {path}: {exc.strerror or exc}; the previous files are kept")
    error.errno = exc.errno
    return error


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "remove_stale_staging", "replace_folder",
           "staging_folder", "write_error"]
