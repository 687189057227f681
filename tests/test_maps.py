"""The interactive map, checked in its HTML: offline assets, escaping, size, layers and popups."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from geo import style
from geo.api import RunResult
from geo.cli.map import map_command
from geo.exclusions import ExclusionMap
from geo.grid import Grid
from geo.maps import LATEST_MAP, build_map, display_tolerance, exclusion_shapes, for_display, site_popup, write_map
from geo.maps.layers import protected_legend
from geo.maps.relief import hillshade

#: Values that would run script if any dataset text reached the page unescaped.
HOSTILE = '<img src=x onerror="window.__pwned=1;alert(1)">'
HOSTILE_SCRIPT = "<script>window.__pwned=2</script>"


def make_hostile(result: RunResult) -> RunResult:
    """A copy of a run whose dataset and configuration texts are hostile HTML."""
    analysis = result.analysis
    layers = {name: frame.copy() for name, frame in analysis.layers.items()}
    text_columns = {
        "federal_land": ("agency_name", "unit_name"), "protected": ("designation", "name"),
        "transmission": ("owner", "status"), "substations": ("name",), "places": ("name",),
        "fiber": ("name", "kind"), "water_stress": ("category",), "counties": ("name",),
        "roads": ("name",), "rail": ("name",),
    }
    for name, columns in text_columns.items():
        if name in layers:
            for column in columns:
                layers[name][column] = f"{HOSTILE}{HOSTILE_SCRIPT}"
    causes = list(analysis.exclusions.causes)
    renamed = causes.index("protected")
    causes[renamed] = f"protected{HOSTILE}"
    descriptions = {c: f"{HOSTILE} {HOSTILE_SCRIPT}" for c in causes}
    exclusions = ExclusionMap(analysis.exclusions.bits, causes, descriptions)
    provenance = {name: p.model_copy(update={"source": HOSTILE, "notes": [HOSTILE_SCRIPT]})
                  for name, p in analysis.provenance.items()}
    hostile_analysis = dataclasses.replace(analysis, layers=layers, exclusions=exclusions, provenance=provenance)
    sites = result.sites.copy()
    for column in ("agency", "unit_name", "county", "nearest_substation", "nearest_town"):
        sites[column] = HOSTILE
    sites["site_id"] = [f"{s}{HOSTILE_SCRIPT}" for s in sites["site_id"]]
    return dataclasses.replace(result, analysis=hostile_analysis, sites=sites)


@pytest.fixture(scope="module")
def page(demo_result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_map(demo_result, tmp_path_factory.mktemp("map") / "map.html")
    return path.read_text(encoding="utf-8")


def test_no_asset_is_loaded_from_the_network(page: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=", page)
    assert "https://cdn" not in page
    assert "new L.Control.Measure(" in page and "L.control.fullscreen(" in page and "L.control.scale(" in page
    assert page.count("<script>") >= 3  # Leaflet and both plugins are inline


def test_map_is_small_and_shows_every_layer(page: str, demo_result: RunResult) -> None:
    assert len(page.encode()) < 3_000_000
    for name in ("Federal land by managing agency", "Excluded: protected", "Water stress",
                 "Transmission lines by voltage", "Substations", "Fiber", "Towns", "State outlines",
                 "County outlines", "Candidate sites (ranked)", "OpenStreetMap", "Topographic"):
        assert f'"{name}' in page, name
    assert f'"sites": {len(demo_result.sites)}' in page
    assert "Rank 1 of" in page
    assert "SYNTHETIC DEMO DATA" in page


def test_hostile_text_is_escaped_everywhere(demo_result: RunResult, tmp_path: Path) -> None:
    html = build_map(make_hostile(demo_result)).get_root().render()
    assert "<img src=x" not in html
    assert "<script>window.__pwned" not in html
    assert "\\u0026lt;img src=x onerror=" in html  # the text is there, escaped, inside JSON


def test_popup_explains_the_site(demo_result: RunResult) -> None:
    site = demo_result.sites.iloc[0]
    analysis = demo_result.analysis
    criteria, weights = analysis.criteria, analysis.weights
    text = site_popup(site, criteria, weights, len(demo_result.sites), min_line_kv=230)
    assert f"Rank 1 of {len(demo_result.sites)}" in text
    assert f"Score {site['score']:.3f}" in text
    assert "Nearest line &ge; 230 kV" in text
    assert "score 0-5" in text and " km<" in text
    assert "Robustness" not in text
    robust = site.copy()
    robust["top_n_share"], robust["rank_median"], robust["rank_p05"], robust["rank_p95"] = 0.85, 2.0, 1.0, 6.0
    robust["most_sensitive_to"] = "water_stress"
    text = site_popup(robust, criteria, weights, len(demo_result.sites), scenario_ranks={"chip <fab>": "rank 3"})
    assert "85%" in text and "median rank 2" in text and "1-6" in text and "most sensitive to the weight of water stress" in text
    assert "chip &lt;fab&gt;: rank 3" in text


def test_scenarios_are_extra_layers_with_ranks_in_the_popups(demo_result: RunResult) -> None:
    other = demo_result.sites.iloc[::-1].copy()
    other["rank"] = np.arange(1, len(other) + 1)
    html = build_map(demo_result, scenarios={"reversed": other}).get_root().render()
    assert '"Scenario: reversed"' in html
    assert f"reversed: rank {len(other)} (score" in html  # the top site is last in the reversed table


def test_exclusions_are_traced_per_cause_on_a_coarse_grid() -> None:
    grid = Grid.covering((0, 0, 10_000, 4_000), 100)
    bits = np.zeros(grid.shape, dtype=np.uint16)
    bits[:, :50] |= 1 << 1      # left half: cause b
    bits[:20, :] |= 1 << 2      # top half: cause c
    bits[:, -10:] |= 1 << 0     # outside the study area: never shown
    shapes = exclusion_shapes(ExclusionMap(bits, ["outside_study_area", "b", "c"], {}), grid, max_cells=25)
    assert set(shapes) == {"b", "c"}
    assert shapes["b"].area.iloc[0] == pytest.approx(5_000 * 4_000, rel=0.05)
    assert shapes["c"].area.iloc[0] == pytest.approx(9_000 * 2_000, rel=0.1)


def test_display_geometries_are_simplified_and_in_degrees() -> None:
    circle = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[box(0, 0, 50_000, 50_000).buffer(20_000),
                                                      box(0, 0, 10, 10)], crs="EPSG:5070")
    tolerance = display_tolerance((0, 0, 1_000_000, 500_000))
    shown = for_display(circle, tolerance)
    assert shown.crs.to_epsg() == 4326
    assert len(shown) == 1  # the 10 m square is below what the zoom can show
    assert len(shown.geometry.iloc[0].exterior.coords) < len(circle.geometry.iloc[0].exterior.coords)


def test_write_map_defaults_to_maps_folder_with_latest(demo_result: RunResult, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_map(demo_result)
    assert path == Path("maps") / f"{demo_result.record.run_id}.html"
    assert (tmp_path / "maps" / LATEST_MAP).read_bytes() == path.read_bytes()
    assert not [p for p in (tmp_path / "maps").iterdir() if p.name.startswith(".")]


def test_cli_maps_a_run_folder(demo_result: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    answer = CliRunner().invoke(map_command, ["--run", str(demo_result.output_dir), "-o", str(out), "-q"])
    assert answer.exit_code == 0, answer.output
    assert f"{len(demo_result.sites)} sites" in answer.output
    assert f"Rank 1 of {len(demo_result.sites)}" in out.read_text(encoding="utf-8")


def test_cli_rejects_a_run_with_analysis_options(demo_result: RunResult) -> None:
    answer = CliRunner().invoke(map_command, ["--run", str(demo_result.output_dir), "--preset", "chip_fab"])
    assert answer.exit_code == 2
    assert "cannot be combined" in answer.output


def test_no_layer_colour_is_written_outside_the_style_catalogue() -> None:
    catalogue = set(re.findall(r"#[0-9a-fA-F]{6}\b", Path(style.__file__).read_text(encoding="utf-8")))
    package = Path(style.__file__).parent
    for path in [*(package / "maps").glob("*.py"), *(package / "report").glob("*.py")]:
        repeated = catalogue & set(re.findall(r"#[0-9a-fA-F]{6}\b", path.read_text(encoding="utf-8")))
        assert not repeated, f"{path.name} repeats catalogue colours {repeated}"


def test_the_map_draws_layers_with_the_catalogue_styles(page: str) -> None:
    for name in ("substations", "fiber", "states", "counties", "places"):
        assert style.LAYERS[name].colour in page, name
    for voltage in style.VOLTAGE_CLASSES:
        assert voltage.label in page and voltage.colour in page


@pytest.mark.parametrize(("kv", "label"), [(765, "500 kV and above"), (500, "500 kV and above"), (345, "345 kV"),
                                           (230, "220-287 kV"), (287, "220-287 kV"), (138, "100-161 kV"),
                                           (69, "under 100 kV"), (float("nan"), "DC or voltage unknown")])
def test_voltages_fall_in_their_class(kv: float, label: str) -> None:
    assert style.voltage_class(kv).label == label


def test_popup_shows_the_voltage_class_and_labels_edge_and_mean(demo_result: RunResult) -> None:
    analysis = demo_result.analysis
    site = demo_result.sites.iloc[0].copy()
    site["nearest_line_kv"], site["nearest_line_km"], site["nearest_substation_kv"] = 230.0, 0.0, 138.0
    text = site_popup(site, analysis.criteria, analysis.weights, len(demo_result.sites), min_line_kv=230)
    assert "Nearest line &ge; 230 kV: 220-287 kV at 0.0 km" in text
    assert "230 kV at" not in text and "line kV" not in text
    assert "(100-161 kV) at" in text  # the substation's class
    assert text.count("nearest edge") == 3  # line, substation and town
    assert "mean over site" in text


def test_transmission_tooltips_show_the_class(page: str) -> None:
    shown = set(re.findall(r'"tip": "([^"]*) line, ', page))
    assert "220-287 kV" in shown
    assert shown <= {c.label for c in (*style.VOLTAGE_CLASSES, style.DC_OR_UNKNOWN)}


def test_popup_sections_come_from_each_criterion(demo_result: RunResult) -> None:
    analysis = demo_result.analysis
    assert {c.name: c.section for c in analysis.criteria}["water_stress"] == "Water"
    moved = [c.model_copy(update={"section": "Cost <x>"}) if c.name == "fiber" else c for c in analysis.criteria]
    text = site_popup(demo_result.sites.iloc[0], moved, analysis.weights, len(demo_result.sites))
    headings = re.findall(r'<th colspan="5">([^<]*)</th>', text)
    assert headings == ["Grid", "Water", "Access", "Terrain", "Cost &lt;x&gt;", "People"]  # People: nearest town only
    after = text.split('<th colspan="5">Cost &lt;x&gt;</th>')[1]
    assert ">fiber<" in after and ">fiber<" not in text.split("Cost &lt;x&gt;")[0]


def test_protected_legend_names_only_what_the_data_holds(demo_result: RunResult) -> None:
    record = demo_result.analysis.provenance["protected"].model_copy(
        update={"source": "Natural Earth parks", "synthetic": False, "partial": True})
    assert protected_legend(["National Park"], record) == "National Park, from Natural Earth parks (partial coverage)"
    analysis = demo_result.analysis
    layers = dict(analysis.layers)
    layers["protected"] = layers["protected"][layers["protected"]["designation"] == "National Park"]
    provenance = {**analysis.provenance, "protected": record}
    parks_only = dataclasses.replace(demo_result, analysis=dataclasses.replace(analysis, layers=layers,
                                                                               provenance=provenance))
    html = build_map(parks_only).get_root().render()
    legend = html.split("Protected land\\u003c/h6\\u003e")[1].split("\\u003ch6")[0]  # inside the legend's JSON
    assert "National Park, from Natural Earth parks (partial coverage)" in legend
    assert "Wilderness" not in legend


def test_hillshade_lights_slopes_facing_the_light() -> None:
    rows, cols = np.mgrid[0:20, 0:20].astype(float)
    flat = hillshade(np.zeros((20, 20)), 100.0)
    assert np.allclose(flat, np.sin(np.radians(45)))
    rising_east = cols * 50.0  # faces west: away from a light in the east
    assert hillshade(rising_east, 100.0, azimuth_deg=270)[10, 10] > flat[10, 10]
    assert hillshade(rising_east, 100.0, azimuth_deg=90)[10, 10] < flat[10, 10]
    rising_south = rows * 50.0  # rows run south, so this slope faces north
    assert hillshade(rising_south, 100.0, azimuth_deg=0)[10, 10] > hillshade(rising_south, 100.0,
                                                                             azimuth_deg=180)[10, 10]


def test_map_has_shaded_relief_from_the_stored_elevation(page: str, demo_result: RunResult) -> None:
    assert re.search(r'"Shaded relief \(\d+ m elevation\)"', page)
    assert "data:image/png;base64," in page
    without = dataclasses.replace(demo_result, record=demo_result.record.model_copy(update={"store": "/nonexistent"}))
    assert "Shaded relief" not in build_map(without).get_root().render()


def test_legend_starts_collapsed_on_small_screens_and_labels_declutter(page: str) -> None:
    assert '"<details" + (large ? " open" : "")' in page
    assert "window.innerWidth >= 800" in page
    assert "fitBounds(" in page and "paddingTopLeft" in page
    assert "geo-rank-label" in page and "openTooltip" in page and "closeTooltip" in page
