"""The one-page report: its sections, its figures, escaping and the robustness columns."""

from __future__ import annotations

import base64
import dataclasses
import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from test_maps import HOSTILE, make_hostile

from geo.api import RunResult
from geo.cli.report import report_command
from geo.report import CONTRIBUTIONS_PNG, OVERVIEW_PNG, REPORT_HTML, REPORT_MD, state_sentence, write_report
from geo.report.figures import _label_sites, label_offsets
from geo.report.templates import md_text

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


def test_importing_and_using_the_report_leaves_matplotlib_backend_alone(tmp_path: Path) -> None:
    script = (
        "import sys, matplotlib\n"
        "matplotlib.use('svg')\n"
        "import geo.report\n"
        "from geo.report.figures import contributions_png\n"
        "import pandas as pd\n"
        "png = contributions_png(pd.DataFrame({'rank': [1], 'site_id': ['a'], 'x_contribution': [0.5]}), ['x'])\n"
        "assert png[:4] == b'\\x89PNG'\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n"
    )
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert answer.stdout.split() == ["svg", "False"]


def test_markdown_and_html_escape_the_configuration_name_and_description(demo_result: RunResult,
                                                                          tmp_path: Path) -> None:
    analysis = demo_result.analysis
    config = analysis.config.model_copy(update={"name": "park<script>alert(1)</script>",
                                                "description": '<img src=x onerror="alert(2)"> [click](http://x)'})
    hostile = dataclasses.replace(demo_result, analysis=dataclasses.replace(analysis, config=config))
    html = write_report(hostile, tmp_path).read_text(encoding="utf-8")
    markdown = (tmp_path / REPORT_MD).read_text(encoding="utf-8")
    for text in (html, markdown):
        assert "<script>" not in text and "<img src=x" not in text
        assert "&lt;script&gt;" in text and "&lt;img src=x" in text
    assert markdown.startswith("# Candidate sites for park&lt;script&gt;alert(1)&lt;/script&gt;\n")
    assert "[click](" not in markdown and "\\[click\\](http://x)" in markdown


def test_markdown_text_escapes_html_links_and_table_syntax() -> None:
    assert md_text("a|b\nc") == "a\\|b c"
    assert md_text("<b>&") == "&lt;b&gt;&amp;"
    assert md_text("![i](http://x)") == "!\\[i\\](http://x)"
    assert md_text(None) == ""


def test_report_says_per_state_how_many_sites_and_why_none(report: Path, demo_result: RunResult) -> None:
    counts = demo_result.sites["state"].value_counts()
    expected = "; ".join(f"{s} {counts.get(s, 0):,}" for s in demo_result.analysis.config.states)
    assert f"Sites per state: {expected}." in (report.parent / REPORT_MD).read_text(encoding="utf-8")
    record = SimpleNamespace(states={"AZ": SimpleNamespace(sites=0, why="every acre is tribal land"),
                                     "NV": SimpleNamespace(sites=3, why="")})
    assert state_sentence(record, ["AZ", "NV", "UT"]) == (
        "AZ 0 (every acre is tribal land); NV 3; UT: no summary (the state's outline is not in the store, "
        "or the run predates per-state summaries)")


def test_crowded_rank_labels_are_moved_apart() -> None:
    points = np.zeros((4, 2))  # four sites whose labels would sit on one another
    sizes = np.full((4, 2), 12.0)
    offsets = label_offsets(points, sizes)
    assert offsets[0] == (0.0, 0.0) and all(o is not None for o in offsets)
    boxes = [(dx - 6, dy - 6, dx + 6, dy + 6) for dx, dy in offsets]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or a[0] >= b[2] or a[3] <= b[1] or a[1] >= b[3]
    assert label_offsets(np.zeros((200, 2)), np.full((200, 2), 12.0)).count(None) > 0  # no room: left out


def test_overview_labels_of_the_best_sites_do_not_overlap(demo_result: RunResult) -> None:
    fig = Figure(figsize=(9, 7), dpi=120)
    ax = fig.add_subplot()
    demo_result.analysis.layers["states"].to_crs("EPSG:5070").boundary.plot(ax=ax)
    ax.set_aspect("equal")
    sites = demo_result.sites.to_crs("EPSG:5070").head(10)
    assert _label_sites(fig, ax, sites) == []
    FigureCanvasAgg(fig).draw()
    boxes = [t.get_bbox_patch().get_window_extent() for t in ax.texts]
    assert len(boxes) == 10
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
