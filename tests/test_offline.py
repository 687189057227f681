"""Offline ingestion: a tiny directory written here, and the real public files when present."""

from __future__ import annotations

import logging
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

from geo.errors import FetchError
from geo.schema import SCHEMAS, validate_layer
from geo.sources.base import NormalizeContext
from geo.sources.offline import ingest_directory, read_vector_tiles, scan_directory
from geo.store import LayerStore

RAW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"
TILE = (8, 48, 101)  # a zoom-8 tile over northern Arizona


def _tile_corner(z: int, x: int, y: int) -> tuple[float, float]:
    """Longitude and latitude of a tile's north-west corner (slippy-map convention)."""
    n = 2**z
    return x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


def _write_tiny_directory(root: Path) -> None:
    """One file of each distributed form: zipped shapefile, GeoJSON, CSV, GeoTIFF, tile zip."""
    shp = root / "shp"
    shp.mkdir()
    gpd.GeoDataFrame(
        {"STATEFP": ["04", "32"], "STUSPS": ["AZ", "NV"], "NAME": ["Arizona", "Nevada"]},
        geometry=[box(-114, 33, -110, 37), box(-119, 36, -115, 41)], crs="EPSG:4269",
    ).to_file(shp / "boundaries.shp")
    with zipfile.ZipFile(root / "downloaded_boundaries.zip", "w") as zf:  # named so only its fields tell
        for part in shp.iterdir():
            zf.write(part, part.name)
    for part in shp.iterdir():
        part.unlink()
    shp.rmdir()

    gpd.GeoDataFrame(
        {"NAME": ["Flagstaff", "Reno"], "POP_MAX": [65000, 400000], "ADM1NAME": ["Arizona", "Nevada"]},
        geometry=[Point(-111.65, 35.2), Point(-119.8, 39.5)], crs="EPSG:4326",
    ).to_file(root / "ne_10m_populated_places_sample.geojson", driver="GeoJSON")

    pd.DataFrame({
        "v_id": [1, 2], "lon": [-111.9, -112.2], "lat": [33.5, 34.6], "typ": ["substation", "joint"],
        "voltage": ["500000;230000", ""], "frequency": [60, 60], "name": ["Westwing", ""],
        "operator": ["", ""], "ref": ["", ""],
        "wkt_srid_4326": ["SRID=4326;POINT(-111.9 33.5)", "SRID=4326;POINT(-112.2 34.6)"],
    }).to_csv(root / "gridkit_north_america-highvoltage-vertices_sample.csv", index=False)

    codes = np.full((10, 12), 100, dtype="uint8")
    codes[0, 0] = 255
    with rasterio.open(root / "pvlib_altitude_sample.tif", "w", driver="GTiff", width=12, height=10,
                       count=1, dtype="uint8", crs="EPSG:4326", transform=from_origin(-115, 38, 0.5, 0.5),
                       nodata=255) as dst:
        dst.write(codes, 1)
        dst.scales, dst.offsets = (28.0,), (-450.0,)

    tile = mapbox_vector_tile.encode(
        [{"name": "transmission", "features": [
            {"geometry": LineString([(100, 100), (2000, 2000)]), "properties": {"VOLT_CLASS": "345"}},
        ]}],
        default_options={"y_coord_down": True},
    )
    with zipfile.ZipFile(root / "hifld_transmission_lines_vector_tiles_sample.zip", "w") as zf:
        zf.writestr("metadata.json", '{"name": "tiles/transmission"}')
        zf.writestr("{}/{}/{}.pbf".format(*TILE), tile)

    (root / "readme.bin").write_bytes(b"\x00\x01 not a public file")


def test_tiny_directory_of_every_form(tmp_path, caplog):
    _write_tiny_directory(tmp_path)
    caplog.set_level(logging.INFO, logger="geo.sources.offline")
    kinds = {f.path.name: (f.kind, f.by) for f in scan_directory(tmp_path)}
    assert kinds["downloaded_boundaries.zip"] == ("census_states", "content")
    assert kinds["readme.bin"][0] is None

    ctx = NormalizeContext(("AZ",))
    out = {layer.layer: layer for layer in ingest_directory(tmp_path, ctx)}
    assert set(out) == {"states", "places", "substations", "transmission", "elevation"}
    assert "readme.bin: not a recognised public file" in caplog.text
    try:
        assert out["states"].frame["state"].tolist() == ["AZ"]
        assert out["places"].frame["name"].tolist() == ["Flagstaff"]  # Reno clipped away
        substations = out["substations"].frame
        assert substations["max_voltage_kv"].tolist() == [500.0]

        line = out["transmission"].frame
        assert line["voltage_class"].tolist() == ["345"]
        west, north = _tile_corner(*TILE)
        east, south = _tile_corner(TILE[0], TILE[1] + 1, TILE[2] + 1)
        start = Point(line.geometry.iloc[0].coords[0])
        assert start.x == pytest.approx(west + (east - west) * 100 / 4096, abs=1e-6)
        assert shapely.within(line.geometry.iloc[0], box(west, south, east, north))

        with rasterio.open(out["elevation"].raster_path) as src:
            assert np.nanmax(src.read(1)) == pytest.approx(100 * 28 - 450)
        for name, layer in out.items():
            if layer.frame is not None:
                validate_layer(name, layer.frame)
            assert layer.provenance["url"].startswith("file://")
            assert len(layer.provenance["source_checksum"]) == 64
    finally:
        out["elevation"].raster_path.unlink()


def test_layers_filter_still_clips_with_the_states_file(tmp_path):
    _write_tiny_directory(tmp_path)
    steps: list[tuple[int, int, str]] = []
    out = list(ingest_directory(tmp_path, NormalizeContext(("AZ",)), layers=["places"],
                                progress=lambda done, total, label: steps.append((done, total, label))))
    assert [layer.layer for layer in out] == ["places"]
    assert out[0].dropped_outside == 1
    assert steps == [(0, 2, "states"), (1, 2, "places"), (2, 2, "done")]


def test_broken_recognised_file_names_the_file_or_is_reported(tmp_path):
    _write_tiny_directory(tmp_path)
    broken = tmp_path / "ne_50m_urban_areas_sample.geojson"
    broken.write_text("{ this is not json")
    ctx = NormalizeContext(("AZ",))
    with pytest.raises(FetchError, match="ne_50m_urban_areas_sample.geojson"):
        list(ingest_directory(tmp_path, ctx, layers=["urban"]))
    failed: dict[str, Exception] = {}
    out = [layer.layer for layer in ingest_directory(
        tmp_path, ctx, layers=["urban", "places"], on_error=lambda layer, exc: failed.setdefault(layer, exc))]
    assert out == ["places"]
    assert list(failed) == ["urban"]


def test_an_unclosed_ring_is_one_clear_error_without_a_warning_ahead(tmp_path, recwarn):
    (tmp_path / "ne_50m_urban_areas_sample.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": '
        '{"type": "Polygon", "coordinates": [[[-112, 34], [-111, 34], [-111, 35], [-112, 35]]]}}]}'
    )
    with pytest.raises(FetchError, match="ne_50m_urban_areas_sample.geojson: .*polygon ring is not closed"):
        list(ingest_directory(tmp_path, NormalizeContext(("AZ",)), layers=["urban"]))
    assert [str(w.message) for w in recwarn] == []


# -- the real public files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    if not RAW.is_dir():
        pytest.skip(f"{RAW} is absent")
    store = LayerStore(tmp_path_factory.mktemp("store"))
    provenance = {}
    for layer in ingest_directory(RAW, NormalizeContext(("AZ", "NV", "UT"))):
        if layer.frame is not None:
            provenance[layer.layer] = store.write(layer.layer, layer.frame, **layer.provenance)
        else:
            provenance[layer.layer] = store.write_raster(layer.layer, layer.raster_path, **layer.provenance)
            layer.raster_path.unlink()
    return store


@pytest.mark.shared_data
def test_real_files_are_all_recognised():
    if not RAW.is_dir():
        pytest.skip(f"{RAW} is absent")
    unknown = [f.path.name for f in scan_directory(RAW) if f.kind is None]
    assert unknown == []


@pytest.mark.shared_data
def test_real_ingest_gives_every_layer_in_its_schema(real_store):
    store = real_store
    assert set(store.layers()) == set(SCHEMAS) - {"fiber", "water_bodies"}  # no such files exist
    for layer in store.layers():
        if SCHEMAS[layer].geometry is not None:
            store.read(layer)  # validates against the schema


@pytest.mark.shared_data
def test_real_feature_counts_match_the_manifest(real_store):
    store = real_store
    counts = {layer: store.provenance(layer).feature_count for layer in store.layers()}
    counties = store.read("counties")
    assert counts["states"] == 3
    assert counties["state"].value_counts().to_dict() == {"UT": 29, "NV": 17, "AZ": 15}
    assert counts["federal_land"] > 26  # PAD-US managers plus National Atlas polygons outside its area
    assert counts["tribal_land"] == 54
    assert counts["protected"] == 11
    assert 6000 <= counts["transmission"] <= 6299
    assert 400 <= counts["substations"] <= 493
    assert counts["water_stress"] == 61
    assert counts["rail"] == 30
    assert counts["backbone_pops"] == 59
    assert 60 <= counts["roads"] <= 67
    assert set(store.read("roads")["road_class"]) == {"interstate"}
    assert counts["places"] == 44
    assert counts["urban"] == 10
    assert counts["power_plants"] == 363
    classes = store.read("transmission")["voltage_class"].value_counts().to_dict()
    assert classes["500"] == 415 and classes["345"] == 356
    assert store.read("transmission")["voltage_kv"].isna().all()  # only classes are known


@pytest.mark.shared_data
def test_real_ownership_is_padus_where_it_covers_and_the_national_atlas_elsewhere(real_store):
    store = real_store
    prov = store.provenance("federal_land")
    assert not prov.partial and prov.coverage_wkt is None  # every state is covered by one source or the other
    assert "1:1,000,000" in prov.caveat
    assert "AZ: 0% from the fine source, 100% filled, 0% unknown" in prov.notes
    land = store.read("federal_land").to_crs(5070)
    assert set(land["source"]) == {"padus3_great_basin", "national_atlas_federal_lands"}
    states = store.read("states").set_index("state").to_crs(5070).geometry
    arizona_federal = land[land["is_federal"].astype(bool)].geometry.make_valid().union_all().intersection(states["AZ"])
    assert 0.35 < arizona_federal.area / states["AZ"].area < 0.47  # MANIFEST: 41 % of Arizona
    padus = land[land["source"] == "padus3_great_basin"].geometry.make_valid().union_all()
    atlas = land[land["source"] == "national_atlas_federal_lands"].geometry.make_valid().union_all()
    # the filler is cut to outside PAD-US's coverage outline (simplified to about 1 km, so a thin seam overlaps)
    assert padus.intersection(atlas).area < 0.002 * padus.area


@pytest.mark.shared_data
def test_real_proxies_are_named_in_provenance(real_store):
    store = real_store
    water = store.provenance("water_stress")
    assert water.proxy_for == "WRI Aqueduct baseline water stress"
    assert any("drought score" in note for note in water.notes)
    assert "city-level" in store.provenance("backbone_pops").caveat
    assert "9 km" in store.provenance("elevation").caveat
    assert "March 2016" in " ".join(store.provenance("substations").notes)
    assert store.provenance("substations").vintage == "OpenStreetMap export of March 2016"
    assert store.provenance("power_plants").vintage == "EIA period 202004"
    assert "2005-2014" in store.provenance("federal_land").vintage
    assert store.provenance("elevation").caveat and store.provenance("water_stress").caveat
    assert "slope" in " ".join(store.provenance("elevation").notes)


@pytest.mark.shared_data
def test_real_tile_zip_matches_the_geojson_derived_from_it():
    if not RAW.is_dir():
        pytest.skip(f"{RAW} is absent")
    folder = RAW / "transmission"
    tiles = read_vector_tiles(folder / "hifld_transmission_lines_im3_vector_tiles_z8_aznvut.zip")
    geojson = gpd.read_file(folder / "hifld_transmission_lines_volt_class_aznvut_from_im3_tiles_z8.geojson")
    inside = shapely.box(-113, 38, -110, 41)  # central Utah, well within the area both cover
    lengths = [
        frame.clip(inside).to_crs(5070).pipe(lambda f: f.length.groupby(f["VOLT_CLASS"]).sum())
        for frame in (tiles, geojson)
    ]
    assert lengths[0].to_dict() == pytest.approx(lengths[1].to_dict(), rel=1e-3)


def test_3dep_tiles_are_mosaicked_and_preferred_to_the_coarse_grid(tmp_path):
    _write_tiny_directory(tmp_path)
    for west, height in ((-113, 1000.0), (-112, 2000.0)):
        values = np.full((20, 20), height, dtype="float32")
        values[0, :] = -999999
        name = f"USGS_1_n36w{-west}.tif"
        with rasterio.open(tmp_path / name, "w", driver="GTiff", width=20, height=20, count=1,
                           dtype="float32", crs="EPSG:4269", transform=from_origin(west, 36, 0.05, 0.05),
                           nodata=-999999) as dst:
            dst.write(values, 1)
    (layer,) = ingest_directory(tmp_path, NormalizeContext(("AZ",)), layers=["elevation"])
    try:
        assert "3DEP" in layer.provenance["source"]
        with rasterio.open(layer.raster_path) as src:
            data = src.read(1)
            assert src.bounds.left == pytest.approx(-113) and src.bounds.right == pytest.approx(-111)
        assert set(np.unique(data[~np.isnan(data)])) == {1000.0, 2000.0}
        assert np.isnan(data[0]).all()
    finally:
        layer.raster_path.unlink()
