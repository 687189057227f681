"""Each source's normaliser on tiny hand-made frames with the publishers' own field names."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, Polygon, box

from geo.errors import EmptyLayerError, LayerSchemaError
from geo.schema import validate_layer
from geo.sources.base import NormalizeContext
from geo.sources.catalog import SPECS as SOURCES
from geo.sources.catalog import layer_of, normalize
from geo.sources.layers.water_stress import WITHDRAWAL_SATURATION_MM, aqueduct_label

AZ_BOX = box(-113, 34, -111, 36)
BOW_TIE = Polygon([(-112.5, 34.5), (-111.5, 35.5), (-111.5, 34.5), (-112.5, 35.5), (-112.5, 34.5)])


@pytest.fixture
def ctx() -> NormalizeContext:
    states = gpd.GeoDataFrame({"state": ["AZ"], "name": ["Arizona"]}, geometry=[AZ_BOX], crs="EPSG:4326")
    counties = gpd.GeoDataFrame(
        {"geoid": ["04001", "04003"], "name": ["West", "East"], "state": ["AZ", "AZ"]},
        geometry=[box(-113, 34, -112, 36), box(-112, 34, -111, 36)], crs="EPSG:4326",
    )
    return NormalizeContext(("AZ",), state_boundaries=states, county_boundaries=counties)


def _check(result, layer: str) -> gpd.GeoDataFrame:
    assert result.layer == layer
    validate_layer(layer, result.frame)
    assert result.frame.crs.to_epsg() == 4326
    for key in ("source", "url", "license", "states"):
        assert result.provenance[key], key
    assert isinstance(result.provenance["notes"], list)
    return result.frame


def test_every_source_id_of_the_online_side_is_supported():
    online = {
        "census_states", "census_counties", "blm_sma", "padus_fee", "blm_nlcs_wilderness",
        "nps_boundaries", "hifld_transmission", "osm_substations", "aqueduct_baseline",
        "topology_zoo_pops", "ne_railroads", "tiger_primary_roads", "ne_interstates", "ne_populated_places",
        "eia_power_plants", "usgs_3dep", "census_aiannh",
    }
    assert online <= set(SOURCES)
    assert layer_of("topology_zoo_pops") == "backbone_pops"
    assert layer_of("census_aiannh") == "tribal_land"


def test_unknown_source_and_missing_field_are_named(ctx):
    with pytest.raises(LayerSchemaError, match="unknown source 'nope'"):
        normalize("nope", gpd.GeoDataFrame(), ctx)
    frame = gpd.GeoDataFrame({"VOLTAGE": [345]}, geometry=[LineString([(-112, 35), (-111.5, 35)])], crs=4326)
    with pytest.raises(LayerSchemaError, match="missing field 'VOLT_CLASS'"):
        normalize("hifld_transmission", frame, ctx)


def test_census_states_and_counties_filter_to_the_request(ctx):
    states = gpd.GeoDataFrame(
        {"STUSPS": ["AZ", "CA"], "NAME": ["Arizona", "California"], "STATEFP": ["04", "06"]},
        geometry=[AZ_BOX, box(-120, 34, -118, 36)], crs="EPSG:4269",
    )
    out = _check(normalize("census_states", states, ctx), "states")
    assert out["state"].tolist() == ["AZ"]
    counties = gpd.GeoDataFrame(
        {"GEOID": ["04001", "06001"], "NAME": ["Apache", "Alameda"], "STATEFP": ["04", "06"]},
        geometry=[box(-112, 34, -111, 35), box(-120, 34, -119, 35)], crs="EPSG:4269",
    )
    out = _check(normalize("census_counties", counties, ctx), "counties")
    assert out[["geoid", "state"]].values.tolist() == [["04001", "AZ"]]


def test_hifld_transmission_sentinels_classes_duplicates_and_crs(ctx):
    line = LineString([(-112.5, 35), (-111.5, 35)])
    frame = gpd.GeoDataFrame(
        {
            "VOLTAGE": [-999999, 345.0, 69.0, 69.0],
            "VOLT_CLASS": ["NOT AVAILABLE", "345", "SUB 100", "SUB 100"],
            "STATUS": ["IN SERVICE"] * 4,
            "OWNER": ["NOT AVAILABLE", "APS", "SRP", "SRP"],
        },
        geometry=[line, shapely.offset_curve(line, 0.1), shapely.offset_curve(line, 0.2),
                  shapely.offset_curve(line, 0.2)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    result = normalize("hifld_transmission", frame, ctx)
    out = _check(result, "transmission")
    assert result.dropped_duplicates == 1
    assert len(out) == 3
    assert np.isnan(out["voltage_kv"].iloc[0])
    assert out["voltage_kv"].iloc[1] == 345.0
    assert out["voltage_class"].isna().iloc[0]
    assert out["voltage_class"].iloc[2] == "UNDER 100"
    assert out["owner"].isna().iloc[0]
    assert any("SUB 100" in n for n in result.provenance["notes"])


def test_blm_sma_repairs_the_bow_tie_and_maps_agencies(ctx):
    frame = gpd.GeoDataFrame(
        {
            "ADMIN_AGENCY_CODE": ["BLM", "FS", "PVT", "ST", "XYZ"],
            "ADMIN_UNIT_NAME": ["Kingman FO", "Kaibab NF", None, None, None],
            "ADMIN_ST": ["AZ"] * 5,
        },
        geometry=[BOW_TIE, box(-112.9, 34.1, -112.8, 34.2), box(-112.7, 34.1, -112.6, 34.2),
                  box(-112.5, 34.1, -112.4, 34.2), box(-112.3, 34.1, -112.2, 34.2)],
        crs="EPSG:4326",
    )
    result = normalize("blm_sma", frame, ctx)
    out = _check(result, "federal_land")
    assert result.repaired_geometries == 1
    assert out["agency"].tolist() == ["BLM", "USFS", "PRIVATE", "STATE", "UNKNOWN"]
    assert out["is_federal"].tolist() == [True, True, False, False, False]
    assert out.geometry.iloc[0].area == pytest.approx(0.5)


def test_padus_fee_uses_manager_name_then_type(ctx):
    frame = gpd.GeoDataFrame(
        {"Mang_Name": ["USBR", "SLB", "OTHF", "TRIB"], "Mang_Type": ["FED", "STAT", "FED", "TRIB"],
         "Unit_Nm": ["Lake Pleasant", "Trust land", "Misc", "Nation"], "State_Nm": ["AZ"] * 4},
        geometry=[box(-112.9 + i * 0.2, 34.1, -112.8 + i * 0.2, 34.2) for i in range(4)], crs=4326,
    )
    out = _check(normalize("padus_fee", frame, ctx), "federal_land")
    assert out["agency"].tolist() == ["BOR", "STATE", "OTHER_FEDERAL", "TRIBAL"]
    assert out["unit_name"].iloc[0] == "Lake Pleasant"


def test_padus3_great_basin_is_partial_with_its_covered_area(ctx):
    frame = gpd.GeoDataFrame(
        {"Mng_Level": ["Federal", "Private or Unknown", "Regional/State/Local"],
         "MngNm_D": ["Bureau of Land Management", "Unknown", "State Land Board"]},
        geometry=[box(-113, 35, -112.5, 36), box(-112.5, 35, -112, 36), box(-112, 35.5, -111.8, 36)],
        crs=4326,
    )
    result = normalize("padus3_great_basin", frame, ctx)
    out = _check(result, "federal_land")
    assert out["agency"].tolist() == ["BLM", "UNKNOWN", "STATE"]
    assert out["is_federal"].tolist() == [True, False, False]
    assert result.provenance["partial"] is True
    covered = shapely.from_wkt(result.provenance["coverage_wkt"])
    assert covered.is_valid
    assert covered.contains(Point(-112.25, 35.5))  # the Unknown polygon counts as covered
    assert not covered.contains(Point(-112, 34.5))  # south of every polygon: not covered
    assert any("no Arizona" in n for n in result.provenance["notes"])


def test_protected_sources(ctx):
    nlcs = gpd.GeoDataFrame(
        {"NLCS_NAME": ["Mount Wilson Wilderness", "Cerbat Foothills WSA", "Somewhere"]},
        geometry=[box(-112.9, 34.1, -112.8, 34.2), box(-112.7, 34.1, -112.6, 34.2),
                  box(-112.5, 34.1, -112.4, 34.2)], crs=4326,
    )
    out = _check(normalize("blm_nlcs_wilderness", nlcs, ctx), "protected")
    assert out["designation"].tolist() == ["Wilderness", "WSA", "Wilderness or WSA"]
    parks = gpd.GeoDataFrame(
        {"unit_name": ["Grand Canyon NP"], "unit_type": ["National Park"], "unit_code": ["GRCA"]},
        geometry=[box(-112.5, 35.5, -112, 36)], crs=4326,
    )
    result = normalize("ne_parks", parks, ctx)
    assert _check(result, "protected")["designation"].tolist() == ["National Park"]
    assert result.provenance["partial"] is True


def test_osm_substations_volts_to_kv_and_areas_to_points(ctx):
    frame = gpd.GeoDataFrame(
        {"name": ["Pinnacle Peak", "NOT AVAILABLE"], "voltage": ["345000;230000", None]},
        geometry=[Point(-111.9, 35.7), box(-112.1, 34.9, -112.0, 35.0)], crs=4326,
    )
    out = _check(normalize("osm_substations", frame, ctx), "substations")
    assert out["max_voltage_kv"].iloc[0] == 345.0
    assert np.isnan(out["max_voltage_kv"].iloc[1])
    assert out["name"].isna().iloc[1]
    assert out.geometry.iloc[1].geom_type == "Point"


def test_gridkit_substations_take_link_voltages(ctx):
    vertices = pd.DataFrame({
        "v_id": ["1", "2", "3", "4"], "lon": ["-112.5", "-112.0", "-111.5", "-111.2"],
        "lat": ["35", "35", "35", "35"], "typ": ["substation", "station", "joint", "sub_station"],
        "voltage": ["500000;230000", None, "345000", None], "name": ["A", None, None, None],
    })
    links = pd.DataFrame({"v_id_1": ["2", "3"], "v_id_2": ["3", "4"], "voltage": ["230000", None]})
    out = _check(normalize("gridkit_substations", {"vertices": vertices, "links": links}, ctx), "substations")
    assert out["max_voltage_kv"].tolist()[:2] == [500.0, 230.0]
    assert np.isnan(out["max_voltage_kv"].iloc[2])  # vertex 4: its only link has no voltage
    assert len(out) == 3  # the joint is not a substation


def test_aqueduct_baseline_drops_no_data_scores(ctx):
    frame = gpd.GeoDataFrame(
        {"bws_score": [4.6, -9999.0], "bws_label": ["Extremely High (>80%)", "No Data"],
         "bws_raw": [1.2, -9999.0]},
        geometry=[box(-113, 34, -112, 35), box(-112, 34, -111, 35)], crs=4326,
    )
    result = normalize("aqueduct_baseline", frame, ctx)
    out = _check(result, "water_stress")
    assert out["score"].tolist() == [4.6]
    assert result.provenance["proxy_for"] is None


def test_usdm_drought_proxy_formula(ctx):
    drought = pd.DataFrame({
        "STATEFP": ["04"] * 4, "COUNTYFP": ["001", "001", "001", "003"],
        "usdm_date": ["2020-01-07", "2020-01-07", "2020-01-14", "2020-01-07"],
        "usdm_class": ["None", "D2", "D4", "D0"], "usdm_percent": [0.5, 0.5, 1.0, 1.0],
    })
    result = normalize("usdm_drought_proxy", drought, ctx)
    out = _check(result, "water_stress").set_index(pd.Index(["04001", "04003"]))
    assert out.loc["04001", "score"] == pytest.approx((1.5 + 5.0) / 2)
    assert out.loc["04001", "category"] == "High (40-80%)"
    assert out.loc["04003", "score"] == pytest.approx(1.0)
    assert result.provenance["proxy_for"] == "WRI Aqueduct baseline water stress"

    water_use = pd.DataFrame({"FIPS": ["04001", "04003"], "TO-WFrTo": ["100.0", "--"]})
    mixed = normalize("usdm_drought_proxy", {"drought": drought, "water_use": water_use}, ctx)
    scores = mixed.frame["score"].tolist()
    area = gpd.GeoSeries([box(-113, 34, -112, 36)], crs=4326).to_crs(5070).area.iloc[0]
    depth = 100.0 * 3785.411784 * 365.25 / area * 1000
    withdrawal = 5 * min(1.0, math.log10(1 + depth) / math.log10(1 + WITHDRAWAL_SATURATION_MM))
    assert scores[0] == pytest.approx((3.25 + withdrawal) / 2)
    assert scores[1] == pytest.approx(1.0)  # no withdrawal figure: drought alone


def test_aqueduct_label_bands():
    assert aqueduct_label(0.2) == "Low (<10%)"
    assert aqueduct_label(2.0) == "Medium - High (20-40%)"
    assert aqueduct_label(5.0) == "Extremely High (>80%)"


def test_backbone_pops_from_geojson_and_graphml_nodes(ctx):
    points = gpd.GeoDataFrame(
        {"network": ["Abvt", "Arpanet1972"], "label": ["Phoenix", "Phoenix"], "node_id": ["1", "2"]},
        geometry=[Point(-112.07, 35.45), Point(-112.07, 35.45)], crs=4326,
    )
    result = normalize("topology_zoo_pops", points, ctx)
    out = _check(result, "backbone_pops")
    assert out["name"].tolist() == ["Phoenix"] and out["network"].tolist() == ["Abvt"]
    assert "Arpanet" in " ".join(result.provenance["notes"])
    assert result.provenance["coarse"]
    nodes = pd.DataFrame({"network": ["Abvt"], "label": ["Tucson"], "Latitude": ["35.2"], "Longitude": ["-111.6"]})
    assert _check(normalize("topology_zoo_pops", nodes, ctx), "backbone_pops")["name"].tolist() == ["Tucson"]
    assert _check(normalize("ne_railroads", gpd.GeoDataFrame(
        {"featurecla": ["Railroad"]}, geometry=[LineString([(-112.5, 35), (-111, 35.5)])], crs=4326), ctx),
        "rail")["name"].isna().all()


def test_interstates_from_the_full_natural_earth_roads(ctx):
    roads = gpd.GeoDataFrame(
        {"name": ["10", "87"], "level": ["Interstate", "State"], "sov_a3": ["USA", "USA"]},
        geometry=[LineString([(-112.5, 35), (-111.2, 35.2)]), LineString([(-111.8, 34.5), (-111.5, 35)])], crs=4326,
    )
    out = _check(normalize("ne_interstates", roads, ctx), "roads")
    assert out["name"].tolist() == ["I-10"] and out["road_class"].tolist() == ["interstate"]


def test_national_atlas_agencies_and_an_unknown_value(ctx):
    land = gpd.GeoDataFrame(
        {"agency": ["BLM", "FS", "DOD", "BIA"], "st": ["AZ"] * 4},
        geometry=[box(-112.9 + i * 0.2, 35, -112.8 + i * 0.2, 35.1) for i in range(4)], crs=4326,
    )
    result = normalize("national_atlas_federal_lands", land, ctx)
    out = _check(result, "federal_land")
    assert out["agency"].tolist() == ["BLM", "USFS", "DOD", "TRIBAL"]
    assert out["is_federal"].tolist() == [True, True, True, False]
    assert "1:1,000,000" in result.provenance["coarse"]
    with pytest.raises(LayerSchemaError, match="'agency' has value\\(s\\) 'XYZ'"):
        normalize("national_atlas_federal_lands", land.assign(agency=["BLM", "XYZ", "DOD", "BIA"]), ctx)


def test_tribal_land_with_an_invalid_ring_is_repaired_and_logged(ctx, caplog):
    bow_tie = Polygon([(-111, 35), (-110, 36), (-110, 35), (-111, 36)])
    tribal = gpd.GeoDataFrame(
        {"NAME": ["Navajo", "Hopi"], "GEOID": ["2430", "1505"],
         "NAMELSAD": ["Navajo Nation Reservation", None]},
        geometry=[bow_tie, box(-110.8, 35.6, -110.5, 35.9)], crs=4326,
    )
    with caplog.at_level("INFO"):
        result = normalize("census_aiannh", tribal, ctx)
    out = _check(result, "tribal_land")
    assert out["name"].tolist() == ["Navajo Nation Reservation", "Hopi"]
    assert out.is_valid.all() and result.repaired_geometries == 1
    assert "1 invalid geometries repaired" in caplog.text


def test_tiger_roads_classes(ctx):
    frame = gpd.GeoDataFrame(
        {"RTTYP": ["I", "U", "S"], "FULLNAME": ["I- 40", "US Hwy 89", "State Rte 64"]},
        geometry=[LineString([(-112.5, 35 + i / 10), (-111.5, 35 + i / 10)]) for i in range(3)], crs=4326,
    )
    out = _check(normalize("tiger_primary_roads", frame, ctx), "roads")
    assert out["road_class"].tolist() == ["interstate", "primary", "secondary"]


def test_places_drop_rows_without_population_and_clip_outside(ctx):
    frame = gpd.GeoDataFrame(
        {"NAME": ["Flagstaff", "Nowhere", "Reno"], "POP_MAX": [65000, -99, 400000]},
        geometry=[Point(-111.65, 35.2), Point(-112, 34.5), Point(-119.8, 39.5)], crs=4326,
    )
    result = normalize("ne_populated_places", frame, ctx)
    out = _check(result, "places")
    assert out["name"].tolist() == ["Flagstaff"]
    assert result.dropped_outside == 1
    assert any("without name/population" in n for n in result.provenance["notes"])


def test_eia_plants_from_a_table_with_coordinates(ctx):
    table = pd.DataFrame({
        "Plant_Name": ["Cholla", "Far away"], "Total_MW": ["767.0", "10"],
        "PrimSource": ["coal", "solar"], "Latitude": ["34.94", "45"], "Longitude": ["-110.3", "-100"],
        "Period": ["202004", "202004"],
    })
    ctx_wide = NormalizeContext(("AZ",), state_boundaries=ctx.state_boundaries.assign(
        geometry=[box(-114, 33, -109, 37)]))
    result = normalize("eia_power_plants", table, ctx_wide)
    out = _check(result, "power_plants")
    assert out[["name", "capacity_mw", "fuel"]].values.tolist() == [["Cholla", 767.0, "coal"]]
    assert result.provenance["vintage"] == "EIA period 202004"  # the data's own date


def test_nothing_inside_the_request_is_an_empty_layer_error(ctx):
    frame = gpd.GeoDataFrame(
        {"NAME": ["Reno"], "POP_MAX": [400000]}, geometry=[Point(-119.8, 39.5)], crs=4326
    )
    with pytest.raises(EmptyLayerError):
        normalize("ne_populated_places", frame, ctx)


def test_elevation_applies_scale_offset_and_nodata(ctx, tmp_path):
    codes = np.full((6, 8), 100, dtype="uint8")
    codes[2, 3] = 255
    path = tmp_path / "altitude.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=6, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(-114, 37, 0.5, 0.5), nodata=255) as dst:
        dst.write(codes, 1)
        dst.scales, dst.offsets = (28.0,), (-450.0,)
    result = normalize("pvlib_altitude", path, ctx)
    try:
        assert result.frame is None and result.layer == "elevation"
        with rasterio.open(result.raster_path) as src:
            values = src.read(1)
            assert src.dtypes[0] == "float32"
            assert src.bounds.left <= -113.2 and src.bounds.right >= -110.8  # the state plus margin
        assert np.isnan(values).sum() == 1
        assert np.nanmax(values) == pytest.approx(100 * 28 - 450)
        assert any("not usable for slope" in n for n in result.provenance["notes"])
    finally:
        result.raster_path.unlink()


@pytest.mark.parametrize("cell_deg,coarse", [(0.5, True), (0.001, False)])
def test_elevation_says_when_its_cells_are_too_coarse_for_slope(ctx, tmp_path, cell_deg, coarse):
    path = tmp_path / "dem.tif"
    size = int(round(0.6 / cell_deg))
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(-112.3, 35.3, cell_deg, cell_deg)) as dst:
        dst.write(np.full((size, size), 1500.0, dtype="float32"), 1)
    result = normalize("usgs_3dep", path, ctx)  # 3DEP itself says nothing of coarseness: the data does
    try:
        assert ("too coarse for slope" in (result.provenance["coarse"] or "")) is coarse
    finally:
        result.raster_path.unlink()


def test_county_water_use_population_groundwater_share_and_bad_values(ctx, caplog):
    table = pd.DataFrame({"FIPS": ["04001", "04003"], "TP-TotPop": ["71.5", "--"],
                          "TO-WGWFr": ["30", "5"], "TO-WFrTo": ["40", "0"]})
    result = normalize("usgs_county_water_use", table, ctx)
    out = _check(result, "county_stats").set_index("geoid")
    assert out.loc["04001", "population"] == pytest.approx(71_500)
    assert out.loc["04001", "groundwater_share"] == pytest.approx(0.75)
    assert pd.isna(out.loc["04003", "population"]) and pd.isna(out.loc["04003", "groundwater_share"])
    assert any("no population for counties 04003" in n for n in result.provenance["notes"])
    for bad in ("-999999", "-3"):
        with pytest.raises(LayerSchemaError, match="county 04003 has TP-TotPop"):
            normalize("usgs_county_water_use", table.assign(**{"TP-TotPop": ["71.5", bad]}), ctx)


def test_water_service_areas_repair_an_invalid_ring(ctx):
    bow_tie = Polygon([(-112, 35), (-111.5, 35.5), (-111.5, 35), (-112, 35.5)])
    areas = gpd.GeoDataFrame({"WSA_NAME": ["FLAGSTAFF CITY OF"]}, geometry=[bow_tie], crs=4326)
    result = normalize("usgs_water_service_areas", areas, ctx)
    assert _check(result, "water_service_areas")["name"].tolist() == ["FLAGSTAFF CITY OF"]
    assert result.repaired_geometries == 1
