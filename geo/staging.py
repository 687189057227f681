"""Staging folders and locks of a layer's folder in the store.

A write builds its new version in a staging folder while it holds a shared lock on
``<layer folder>/.lock``; pruning needs the exclusive lock, so it never removes a
version another process is writing. The lock is an ``flock``, which the system
releases when a process dies, even by ``kill -9``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: writes work, pruning is never attempted
    fcntl = None  # type: ignore[assignment]

#: Name prefix of staging folders; one left behind was made by a write that was killed.
STAGING_PREFIX = ".staging-"
_LOCK_NAME = ".lock"


@contextmanager
def layer_lock(folder: Path, *, exclusive: bool) -> Iterator[bool]:
    """Hold the layer's lock: shared (blocking) for a write, exclusive (or nothing) to prune.

    Parameters
    ----------
    folder
        The layer's folder in the store (made when missing).
    exclusive
        Ask for the exclusive lock, without waiting, rather than the shared one.

    Yields
    ------
    bool
        Whether the lock is held; an exclusive lock is not waited for.
    """
    if fcntl is None:
        yield not exclusive
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / _LOCK_NAME, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
            held = True
        except BlockingIOError:
            held = False
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def staging_folder(folder: Path) -> Iterator[Path]:
    """A fresh staging folder in the layer's folder, under the layer's shared lock.

    The staging folder is removed on leaving, whether the write succeeded (and moved
    its content into place) or failed.

    Parameters
    ----------
    folder
        The layer's folder in the store.

    Yields
    ------
    Path
        The empty staging folder.

    Raises
    ------
    OSError
        When the file system refuses (a full disk, a read-only store).
    """
    with layer_lock(folder, exclusive=False):
        staging = folder / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
