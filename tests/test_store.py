"""The layer store: atomic versioned writes that never damage the previous version."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString

from geo.errors import LayerNotFoundError, LayerSchemaError, StoreError
from geo.provenance import sha256_file
from geo.store import LayerStore

PROVENANCE = {"source": "HIFLD transmission lines", "url": "https://example.invalid/lines",
              "license": "public domain"}


def lines(n: int, voltage: float = 345.0) -> gpd.GeoDataFrame:
    """``n`` transmission lines across Nevada."""
    return gpd.GeoDataFrame(
        {
            "voltage_kv": [voltage] * n,
            "voltage_class": ["345"] * n,
            "status": ["IN SERVICE"] * n,
            "owner": [f"owner {i}" for i in range(n)],
        },
        geometry=[LineString([(-117 + i * 0.01, 38), (-116 + i * 0.01, 39)]) for i in range(n)],
        crs="EPSG:4326",
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_unchanged(before: dict[str, bytes], folder: Path) -> None:
    """The files of ``before`` are still there, byte for byte, and no staging folder is left."""
    after = snapshot(folder)
    for name, data in before.items():
        assert after.get(name) == data, f"{name} changed"
    assert not [p for p in folder.iterdir() if p.name.startswith(".staging")]


@pytest.fixture
def store(tmp_path: Path) -> LayerStore:
    store = LayerStore(tmp_path / "store")
    store.write("transmission", lines(10), **PROVENANCE)
    return store


def test_write_then_read_round_trips_with_provenance(store: LayerStore):
    frame = store.read("transmission")
    assert len(frame) == 10
    assert list(frame.columns) == ["voltage_kv", "voltage_class", "status", "owner", "geometry"]
    record = store.provenance("transmission")
    assert record.feature_count == 10
    assert record.sha256 == sha256_file(store.data_path("transmission"))
    assert record.crs == "EPSG:4326"
    assert record.source == PROVENANCE["source"]
    assert store.layers() == ["transmission"]


def test_a_new_version_is_swapped_in_and_the_old_one_kept(store: LayerStore):
    old = store.version("transmission")
    store.write("transmission", lines(12), retrieved_at="2030-01-01T00:00:00Z", **PROVENANCE)
    assert store.version("transmission") != old
    assert (store.root / "transmission" / old / "data.parquet").is_file()
    assert len(store.read("transmission")) == 12
    assert (store.root / "transmission" / "CURRENT").read_text() == store.version("transmission")


def test_collapsed_layer_is_refused_and_previous_kept(store: LayerStore):
    folder = store.root / "transmission"
    before = snapshot(folder)
    with pytest.raises(LayerSchemaError, match=r"layer 'transmission'.*4 features against 10.*--force"):
        store.write("transmission", lines(4), **PROVENANCE)
    assert snapshot(folder) == before


def test_collapse_guard_is_overridden_by_force(store: LayerStore):
    store.write("transmission", lines(4), force=True, **PROVENANCE)
    assert store.provenance("transmission").feature_count == 4


def test_a_drop_to_half_is_accepted(store: LayerStore):
    store.write("transmission", lines(5), **PROVENANCE)
    assert len(store.read("transmission")) == 5


def test_schema_error_names_layer_and_column_and_keeps_previous(store: LayerStore):
    folder = store.root / "transmission"
    before = snapshot(folder)
    bad = lines(10)
    bad["voltage_kv"] = ["345 kV"] * 10
    with pytest.raises(LayerSchemaError, match=r"layer 'transmission'.*column 'voltage_kv'.*'345 kV'"):
        store.write("transmission", bad, **PROVENANCE)
    assert snapshot(folder) == before


def test_sentinel_value_is_refused(store: LayerStore):
    with pytest.raises(LayerSchemaError, match=r"column 'voltage_kv': sentinel value -999999"):
        store.write("transmission", lines(10, voltage=-999999), **PROVENANCE)


def test_a_crash_while_writing_data_leaves_previous_version(store, monkeypatch):
    folder = store.root / "transmission"
    before = snapshot(folder)

    def crash(self, path, **kwargs):
        Path(path).write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write("transmission", lines(11), **PROVENANCE)
    assert snapshot(folder) == before


def test_a_crash_before_the_pointer_swap_leaves_previous_current(store, monkeypatch):
    folder = store.root / "transmission"
    before = snapshot(folder)

    def crash(path, text):
        raise OSError("disk full")

    monkeypatch.setattr("geo.store.atomic_write_text", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write("transmission", lines(11), retrieved_at="2030-01-01T00:00:00Z", **PROVENANCE)
    assert_unchanged(before, folder)
    assert len(store.read("transmission")) == 10


def test_pointer_write_is_atomic(store, monkeypatch):
    pointer = store.root / "transmission" / "CURRENT"
    before = pointer.read_bytes()

    def crash(src, dst):
        raise OSError("interrupted")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="interrupted"):
        from geo.store import atomic_write_text

        atomic_write_text(pointer, "something-else")
    assert pointer.read_bytes() == before
    assert sorted(p.name for p in pointer.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_invalid_provenance_is_a_store_error(store: LayerStore):
    folder = store.root / "transmission"
    before = snapshot(folder)
    with pytest.raises(StoreError, match=r"layer 'transmission': invalid provenance"):
        store.write("transmission", lines(10), source="x", url="y")  # no licence
    assert_unchanged(before, folder)


def test_missing_and_unknown_layers_are_named(store: LayerStore):
    with pytest.raises(LayerNotFoundError, match=r"no layer 'substations'.*geo refresh --layer substations"):
        store.read("substations")
    with pytest.raises(LayerSchemaError, match=r"unknown layer 'powerlines'"):
        store.read("powerlines")


def test_damaged_data_file_is_a_store_error(store: LayerStore):
    store.data_path("transmission").write_bytes(b"not parquet")
    with pytest.raises(StoreError, match=r"layer 'transmission' at .*data.parquet is unreadable"):
        store.read("transmission")


def _geotiff(path: Path, bands: int = 1) -> Path:
    data = np.arange(bands * 16, dtype="float32").reshape(bands, 4, 4)
    with rasterio.open(
        path, "w", driver="GTiff", width=4, height=4, count=bands, dtype="float32",
        crs="EPSG:4326", transform=from_origin(-115, 37, 0.5, 0.5),
    ) as dst:
        dst.write(data)
    return path


def test_raster_write_and_bad_raster_keeps_previous(tmp_path: Path):
    store = LayerStore(tmp_path / "store")
    good = _geotiff(tmp_path / "dem.tif")
    store.write_raster("elevation", good, source="USGS 3DEP", url="file://dem", license="public domain")
    assert store.data_path("elevation").read_bytes() == good.read_bytes()
    folder = store.root / "elevation"
    before = snapshot(folder)
    with pytest.raises(LayerSchemaError, match=r"layer 'elevation'.*2 bands"):
        store.write_raster("elevation", _geotiff(tmp_path / "two.tif", bands=2),
                           source="x", url="y", license="z")
    assert snapshot(folder) == before


def test_prune_keeps_the_current_version(store: LayerStore):
    for i, stamp in enumerate(("2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")):
        store.write("transmission", lines(10 + i), retrieved_at=stamp, **PROVENANCE)
    store.prune("transmission", keep=1)
    versions = [p for p in (store.root / "transmission").iterdir() if p.is_dir()]
    assert [p.name for p in versions] == [store.version("transmission")]


def _versions(store: LayerStore, layer: str = "transmission") -> list[str]:
    return sorted(p.name for p in (store.root / layer).iterdir() if p.is_dir() and not p.name.startswith("."))


def _staging(store: LayerStore, layer: str = "transmission") -> list[str]:
    return [p.name for p in (store.root / layer).iterdir() if p.name.startswith(".staging")]


def test_a_write_keeps_only_the_newest_versions(tmp_path: Path):
    store = LayerStore(tmp_path / "store", keep_versions=3)
    stamps = [f"2030-01-0{day}T00:00:00Z" for day in range(1, 7)]
    for i, stamp in enumerate(stamps):
        store.write("transmission", lines(10 + i), retrieved_at=stamp, **PROVENANCE)
    assert [v[:8] for v in _versions(store)] == ["20300104", "20300105", "20300106"]
    assert store.version("transmission").startswith("20300106") and len(store.read("transmission")) == 15


def test_the_default_keeps_three_versions_and_the_current_one_always_stays(tmp_path: Path):
    store = LayerStore(tmp_path / "store")
    for i, stamp in enumerate(("2030-01-03T00:00:00Z", "2030-01-04T00:00:00Z", "2030-01-05T00:00:00Z",
                               "2030-01-01T00:00:00Z")):  # the newest write carries the oldest retrieval time
        store.write("transmission", lines(10 + i), retrieved_at=stamp, **PROVENANCE)
    assert store.version("transmission").startswith("20300101")
    assert [v[:8] for v in _versions(store)] == ["20300101", "20300104", "20300105"]
    assert len(store.read("transmission")) == 13


def test_keep_versions_must_be_at_least_one(tmp_path: Path):
    with pytest.raises(ValueError, match="at least 1"):
        LayerStore(tmp_path, keep_versions=0)


def test_a_staging_folder_left_by_a_killed_write_is_removed_by_the_next_write(store: LayerStore):
    orphan = store.root / "transmission" / ".staging-0123456789ab"
    orphan.mkdir()
    (orphan / "data.parquet").write_bytes(b"half a file")
    store.write("transmission", lines(11), **PROVENANCE)
    assert _staging(store) == [] and len(store.read("transmission")) == 11


WRITER = """
import sys, time
from pathlib import Path
import geopandas as gpd
from shapely.geometry import LineString
from geo.store import LayerStore

root, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
frame = gpd.GeoDataFrame(
    {"voltage_kv": [345.0] * count, "voltage_class": ["345"] * count, "status": ["IN SERVICE"] * count,
     "owner": ["o"] * count},
    geometry=[LineString([(-117 + i * 0.01, 38), (-116 + i * 0.01, 39)]) for i in range(count)], crs="EPSG:4326")
if mode == "hang":  # stop inside the write, with the staging folder made and the lock held
    def hang(self, path, **kwargs):
        Path(root, "writing").write_text(str(path))
        time.sleep(120)
    gpd.GeoDataFrame.to_parquet = hang
    LayerStore(root).write("transmission", frame, source="s", url="u", license="l")
else:
    store = LayerStore(root, keep_versions=2)
    for i in range(int(mode)):
        store.write("transmission", frame, source="s", url="u", license="l", notes=[f"write {i}"])
"""


def _writer(tmp_path: Path, store: LayerStore, mode: str, count: int = 10) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), str(store.root), mode, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_pruning_never_touches_a_write_in_progress_and_cleans_up_once_its_writer_is_killed(tmp_path: Path,
                                                                                           store: LayerStore):
    for i in range(4):
        store.write("transmission", lines(10 + i), retrieved_at=f"2030-01-0{i + 1}T00:00:00Z", **PROVENANCE)
    writer = _writer(tmp_path, store, "hang")
    try:
        deadline = time.monotonic() + 60
        while not (store.root / "writing").exists():
            assert writer.poll() is None and time.monotonic() < deadline, writer.communicate()
            time.sleep(0.1)
        busy = _staging(store)
        assert len(busy) == 1
        before = _versions(store)
        assert store.prune("transmission", keep=1) == []  # another write holds the layer: nothing is removed
        store.write("transmission", lines(20), **PROVENANCE)  # a second refresh at the same time
        assert _staging(store) == busy and set(before) <= set(_versions(store))
        assert len(store.read("transmission")) == 20
    finally:
        writer.kill()  # kill -9: the lock goes with the process, the staging folder stays
        writer.communicate()
    assert _staging(store) == busy
    store.write("transmission", lines(21), **PROVENANCE)
    assert _staging(store) == [] and len(_versions(store)) == 3
    assert len(store.read("transmission")) == 21


def test_concurrent_writers_leave_a_readable_store(tmp_path: Path, store: LayerStore):
    writers = [_writer(tmp_path, store, "4", count) for count in (10, 11, 12)]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    assert _staging(store) == []
    assert len(store.read("transmission")) in (10, 11, 12)
    assert store.version("transmission") in _versions(store)
    store.prune("transmission", keep=2)
    assert len(_versions(store)) == 2


def test_a_truncated_raster_is_a_store_error_naming_layer_and_remedy(tmp_path: Path):
    store = LayerStore(tmp_path / "store")
    store.write_raster("elevation", _geotiff(tmp_path / "dem.tif"), source="USGS 3DEP", url="file://dem",
                       license="public domain")
    path = store.data_path("elevation")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(StoreError, match=r"layer 'elevation' at .*data.tif is unreadable.*geo refresh --store .* "
                                         r"--layer elevation"):
        store.data_path("elevation")


def test_a_damaged_provenance_file_is_a_store_error_naming_the_remedy(store: LayerStore):
    (store.root / "transmission" / store.version("transmission") / "provenance.json").write_text("{trunc")
    with pytest.raises(StoreError, match=r"layer 'transmission' at .*provenance.json is unreadable.*geo refresh"):
        store.provenance("transmission")


def test_a_store_asked_for_must_exist_and_hold_layers(tmp_path: Path, monkeypatch, store: LayerStore):
    from geo.store import resolve_store

    assert resolve_store(store.root).root == store.root
    with pytest.raises(LayerNotFoundError, match=r"no layer store at .*typo: there is no such folder.*geo refresh"):
        resolve_store(tmp_path / "typo")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayerNotFoundError, match=r"no layer store at .*empty: it holds no layers"):
        resolve_store(tmp_path / "empty")
    monkeypatch.chdir(tmp_path)  # no data/store here: the caller may use the demo region
    assert resolve_store(None) is None


def test_a_full_disk_is_a_store_error_and_keeps_the_previous_version(store: LayerStore, monkeypatch):
    import errno

    folder = store.root / "transmission"
    before = snapshot(folder)

    def full(self, path, **kwargs):
        Path(path).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", full)
    with pytest.raises(StoreError, match=r"layer 'transmission': cannot write to the store at .*No space left on "
                                         r"device.*previous version is kept"):
        store.write("transmission", lines(11), **PROVENANCE)
    assert_unchanged(before, folder)
    assert len(store.read("transmission")) == 10
