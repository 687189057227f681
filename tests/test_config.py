"""Configuration: defaults, presets, patches, AHP and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo.config import PRESETS, ahp_weights, load_config
from geo.errors import ConfigError


def test_defaults_are_valid_and_weights_normalised() -> None:
    config = load_config()
    assert config.resolution_m == 250
    assert config.criteria[0].min_voltage_kv == 230
    assert sum(config.weights().values()) == pytest.approx(1.0)


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load(preset: str) -> None:
    config = load_config(preset=preset)
    assert config.name == preset
    assert sum(config.weights().values()) == pytest.approx(1.0)


def test_chip_fab_needs_extra_high_voltage_and_weighs_water() -> None:
    fab, cable = load_config(preset="chip_fab"), load_config(preset="fiber_cable_plant")
    assert fab.criteria[0].min_voltage_kv == 345
    assert fab.weights()["water_stress"] > cable.weights()["water_stress"]
    assert cable.weights()["highway_rail"] > fab.weights()["highway_rail"]


def test_yaml_patches_criteria_by_name(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("preset: chip_fab\nstates: [NV]\ncriteria:\n  fiber: {weight: 0.5}\n  town: null\n")
    config = load_config(path)
    assert config.states == ["NV"]
    assert [c.name for c in config.criteria if c.name == "town"] == []
    assert next(c for c in config.criteria if c.name == "fiber").weight == 0.5


@pytest.mark.parametrize("text, expected", [
    ("resolutoin_m: 100\n", "resolutoin_m: unknown key"),
    ("criteria:\n  fiber: {weight: -1}\n", "criteria.fiber.weight"),
    ("criteria:\n  fiber: {layers: [roads_typo]}\n", "unknown layer"),
    ("criteria:\n  fiber: {value_function: {kind: linear, low: 3, high: 1}}\n", "high (1.0) must be greater"),
    ("states: [CA]\n", "states.0"),
    ("sites: {min_area_acres: 5000, max_area_acres: 6000}\n", "at least twice"),
    ("- just\n- a list\n", "must be a mapping"),
])
def test_bad_configuration_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'steel_mill'"):
        load_config(preset="steel_mill")


def test_ahp_weights_of_consistent_matrix() -> None:
    weights, cr = ahp_weights(np.array([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]]))
    assert weights.tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert cr == pytest.approx(0.0, abs=1e-9)


def test_ahp_saaty_example_consistency_ratio() -> None:
    # lambda_max = 3.0037 -> CI = 0.00185, RI = 0.58 -> CR = 0.0032
    weights, cr = ahp_weights(np.array([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]]))
    assert weights.tolist() == pytest.approx([0.648, 0.230, 0.122], abs=2e-3)
    assert cr == pytest.approx(0.0032, abs=1e-3)


def test_ahp_in_config_sets_weights(tmp_path: Path) -> None:
    names = ["transmission", "substation", "substation_lines", "generation_nearby", "water_stress", "groundwater",
             "water_access", "fiber", "slope", "highway_rail", "labour_pool"]
    matrix = np.ones((11, 11))
    matrix[0, 1:], matrix[1:, 0] = 2, 0.5
    path = tmp_path / "ahp.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"aggregation": {"ahp": {"criteria": names, "matrix": matrix.tolist()}}}))
    weights = load_config(path).weights()
    assert weights["transmission"] == pytest.approx(2 * weights["fiber"], rel=1e-6)
    assert weights["relief"] == weights["slope"]  # a fallback takes the weight of the criterion it stands in for


def test_inconsistent_ahp_rejected(tmp_path: Path) -> None:
    import yaml

    names = ["transmission", "substation", "substation_lines", "generation_nearby", "water_stress", "groundwater",
             "water_access", "fiber", "slope", "highway_rail", "labour_pool"]
    matrix = np.ones((11, 11))
    matrix[0, 1], matrix[1, 0] = 9, 1 / 9
    matrix[1, 2], matrix[2, 1] = 9, 1 / 9
    matrix[2, 0], matrix[0, 2] = 9, 1 / 9
    path = tmp_path / "ahp.yaml"
    path.write_text(yaml.safe_dump({"aggregation": {"ahp": {"criteria": names, "matrix": matrix.tolist()}}}))
    with pytest.raises(ConfigError, match="consistency ratio .* exceeds 0.1"):
        load_config(path)


@pytest.mark.parametrize("text, expected", [
    ("criteria:\n  transmission: {weight: .inf}\n", "criteria.transmission.weight: Input should be a finite number"),
    ("criteria:\n  transmission: {weight: .nan}\n", "criteria.transmission.weight: Input should be a finite number"),
    ("criteria:\n  fiber: {value_function: {kind: logistic, midpoint: .nan, steepness: 0.1}}\n",
     "criteria.fiber.value_function: midpoint must be a finite number, got nan"),
    ("criteria:\n  fiber: {value_function: {kind: gaussian, ideal: -.inf, width: 5}}\n",
     "criteria.fiber.value_function: ideal must be a finite number, got -inf"),
    ("criteria:\n  fiber: {value_function: {kind: piecewise, points: [[0, 1], [.inf, 0]]}}\n",
     "criteria.fiber.value_function: points.1.0 must be a finite number, got inf"),
    ("resolution_m: .nan\n", "resolution_m: Input should be a finite number"),
    ("exclusions:\n  urban: {buffer_m: .inf}\n", "exclusions.urban.buffer_m: Input should be a finite number"),
])
def test_non_finite_numbers_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("description: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text \(byte 0xe9 at offset 16\)"):
        load_config(path)


@pytest.mark.parametrize("name", ["../escape", "a/b", "back\\slash", ".hidden", "", "two words", "x" * 65, "<b>"])
def test_a_name_unfit_for_file_names_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "named.yaml"
    path.write_text(f"name: {name!r}\n")
    with pytest.raises(ConfigError, match=r"named\.yaml: invalid configuration\n  name: .*cannot name run folders"):
        load_config(path)


@pytest.mark.parametrize("name", ["chip_fab", "thirsty-2", "v1.2", "A"])
def test_plain_names_are_kept(name: str) -> None:
    assert load_config(overrides={"name": name}).name == name


@pytest.mark.parametrize("key, text, expected", [
    ("criteria", "criteria:\n  transmision: {weight: 0.3}\n",
     "criteria.transmision: unknown criterion 'transmision' (did you mean 'transmission'?)"),
    ("criteria", "preset: chip_fab\ncriteria:\n  labor_pool: {radius_km: 45}\n",
     "unknown criterion 'labor_pool' (did you mean 'labour_pool'?)"),
    ("exclusions", "exclusions:\n  protectd: {buffer_m: 500}\n",
     "exclusions.protectd: unknown exclusion 'protectd' (did you mean 'protected'?)"),
])
def test_a_misspelt_name_is_reported_with_the_nearest_known_one(tmp_path: Path, key: str, text: str,
                                                                 expected: str) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and expected in message
    assert "Field required" not in message


def test_a_complete_new_criterion_is_still_added(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    path.write_text("criteria:\n  rail_only: {layers: [rail], weight: 0.1,\n"
                    "    value_function: {kind: linear, low: 0, high: 50}}\n")
    assert "rail_only" in load_config(path).weights()
