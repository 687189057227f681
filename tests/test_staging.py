"""Staging folders and locks of a layer's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.staging import STAGING_PREFIX, layer_lock, staging_folder


def test_the_exclusive_lock_is_refused_while_a_write_stages_and_granted_after(tmp_path: Path):
    folder = tmp_path / "transmission"
    with staging_folder(folder) as staging:
        assert staging.is_dir() and staging.parent == folder and staging.name.startswith(STAGING_PREFIX)
        with layer_lock(folder, exclusive=True) as held:
            assert not held
        with layer_lock(folder, exclusive=False) as shared:  # another writer may stage beside it
            assert shared
    with layer_lock(folder, exclusive=True) as held:
        assert held


def test_a_failed_write_leaves_no_staging_folder(tmp_path: Path):
    folder = tmp_path / "transmission"
    with pytest.raises(OSError), staging_folder(folder) as staging:
        (staging / "data.parquet").write_bytes(b"partial")
        raise OSError("disk full")
    assert [p.name for p in folder.iterdir()] == [".lock"]
