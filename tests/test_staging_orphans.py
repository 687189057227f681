"""Staging folders a killed writer leaves behind are removed once stale, never while fresh."""

from __future__ import annotations

import os
import time
from pathlib import Path

from geo.api import run
from geo.atomic import STALE_STAGING_S, remove_stale_staging
from geo.runs import latest_run


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_only_stale_staging_folders_are_removed(tmp_path: Path) -> None:
    stale, fresh, kept = tmp_path / ".staging-a-1", tmp_path / ".staging-b-2", tmp_path / "20260101T000000Z-run"
    for folder in (stale, fresh, kept):
        folder.mkdir()
    (stale / "sites.csv").write_text("half")
    _age(stale, STALE_STAGING_S + 60)
    _age(kept, STALE_STAGING_S + 60)
    assert remove_stale_staging(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, kept.name]


def test_a_run_clears_what_a_killed_run_left(demo_store, tmp_path: Path) -> None:
    orphan = tmp_path / ".staging-20260101T000000Z-killed-0123abcd"
    orphan.mkdir(parents=True)
    _age(orphan, STALE_STAGING_S + 60)
    result = run(store=demo_store, runs_dir=tmp_path)
    assert not orphan.exists() and latest_run(tmp_path) == result.output_dir
