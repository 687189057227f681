"""The layer store: atomic versioned writes that never damage the previous version."""

from __future__ import annotations

import os
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
