"""The one-page report: its sections, its figures, escaping and the robustness columns."""

from __future__ import annotations

import base64
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from geo.api import RunResult
from geo.cli.report import report_command
from geo.report import CONTRIBUTIONS_PNG, OVERVIEW_PNG, REPORT_HTML, REPORT_MD, write_report

from test_maps import HOSTILE, make_hostile

SECTIONS = ("summary", "overview", "top-sites", "breakdowns", "configuration", "provenance")


@pytest.fixture(scope="module")
def report(demo_result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(demo_result, tmp_path_factory.mktemp("report"))


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=float)


def test_report_has_every_section(report: Path, demo_result: RunResult) -> None:
    html = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    first = demo_result.sites.iloc[0]
    assert first["site_id"] in html and f"{first['score']:.3f}" in html
    for criterion in demo_result.analysis.criteria:
        assert criterion.name in html
    for layer in demo_result.analysis.provenance:
        assert f"<td>{layer}</td>" in html
    assert "SYNTHETIC DEMO DATA" in html
    assert "ranks 1 of" in html  # the explanation of the first site
    assert "min_cell_score" in html  # the configuration as YAML
    markdown = (report.parent / REPORT_MD).read_text(encoding="utf-8")
    for heading in ("## Top ", "## Breakdowns", "## Configuration", "## Provenance of every layer"):
        assert heading in markdown
    assert f"| 1 | {first['site_id']} |" in markdown
    assert "(overview.png)" in markdown and "(contributions.png)" in markdown


@pytest.mark.parametrize("name", [OVERVIEW_PNG, CONTRIBUTIONS_PNG])
def test_figures_are_sized_and_not_blank(report: Path, name: str) -> None:
    data = (report.parent / name).read_bytes()
    assert 10_000 < len(data) < 3_000_000
    pixels = _pixels(data)
    assert 500 <= pixels.shape[1] <= 2000 and 250 <= pixels.shape[0] <= 2000
    assert pixels.std() > 20  # a blank or single-colour image has almost none
    assert (pixels < 250).mean() > 0.05  # something is drawn on the white background
    html = report.read_text(encoding="utf-8")
    assert base64.b64encode(data).decode()[:200] in html  # embedded: the page stands alone


def test_report_escapes_dataset_text(demo_result: RunResult, tmp_path: Path) -> None:
    hostile = make_hostile(demo_result)
    html = write_report(hostile, tmp_path).read_text(encoding="utf-8")
    assert "<img src=x" not in html and "<script>window" not in html
    assert "&lt;img src=x onerror=" in html
    markdown = (tmp_path / REPORT_MD).read_text(encoding="utf-8")
    assert HOSTILE not in markdown


def test_report_shows_robustness_when_present(demo_result: RunResult, tmp_path: Path) -> None:
    sites = demo_result.sites.copy()
    n = len(sites)
    sites["top_n_share"] = np.linspace(0.97, 0.0, n)
    sites["rank_median"] = np.arange(1, n + 1, dtype=float)
    sites["rank_p05"], sites["rank_p95"] = sites["rank_median"], sites["rank_median"] + 4
    sites["most_sensitive_to"] = "water_stress"
    html = write_report(dataclasses.replace(demo_result, sites=sites), tmp_path).read_text(encoding="utf-8")
    assert "in top-N share" in html and "97%" in html and "1 (1-5)" in html
    markdown = (tmp_path / REPORT_MD).read_text(encoding="utf-8")
    assert "most sensitive to" in markdown and "| 97% | 1 (1-5) | water_stress |" in markdown


def test_report_defaults_to_the_run_folder_through_the_cli(demo_result: RunResult, tmp_path: Path) -> None:
    answer = CliRunner().invoke(report_command, ["--run", str(demo_result.output_dir), "-o", str(tmp_path), "-q"])
    assert answer.exit_code == 0, answer.output
    assert (tmp_path / REPORT_HTML).is_file() and (tmp_path / OVERVIEW_PNG).is_file()
