"""Run folders: complete or not the latest, full disks, and the run record read back."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import geo.report
from geo.api import run
from geo.cli import cli
from geo.errors import StoreError, WriteError
from geo.runs import LATEST, MAP_HTML, RUN_RECORD, latest_run, read_run

#: The keys of run.json, as every release has written them.
RECORD_KEYS = {"run_id", "package", "version", "python", "started_at", "finished_at", "store", "synthetic",
               "caveats", "config", "weights", "criteria", "skipped", "terrain", "warnings", "grid", "exclusions",
               "sites", "layers", "timings_s", "states", "robustness", "engine"}


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_the_record_reads_back_with_the_same_keys(demo_result) -> None:
    sites, record = read_run(demo_result.output_dir)
    assert record == demo_result.record
    assert len(sites) == record.sites.count == len(demo_result.sites)
    assert set(json.loads((demo_result.output_dir / RUN_RECORD).read_text())) == RECORD_KEYS
    assert record.config.name == demo_result.analysis.config.name
    assert record.criteria["transmission"].unit
    assert record.changed_layers(demo_result.analysis.provenance) == []


def test_a_record_written_before_the_engine_part_reads_back(demo_result, tmp_path: Path) -> None:
    written = json.loads((demo_result.output_dir / RUN_RECORD).read_text())
    written.pop("engine")
    folder = tmp_path / "older"
    folder.mkdir()
    (folder / "sites.parquet").write_bytes((demo_result.output_dir / "sites.parquet").read_bytes())
    (folder / RUN_RECORD).write_text(json.dumps(written))
    assert read_run(folder)[1].engine is None


def test_an_unreadable_record_is_a_store_error(demo_result, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "sites.parquet").write_bytes((demo_result.output_dir / "sites.parquet").read_bytes())
    (folder / RUN_RECORD).write_text('{"run_id": 3}')
    with pytest.raises(StoreError, match="not a run record"):
        read_run(folder)


def test_a_run_is_complete_or_not_the_latest(demo_store, tmp_path: Path, monkeypatch) -> None:
    first = run(store=demo_store, runs_dir=tmp_path, documents=True)
    assert {MAP_HTML, "report.html", "report.md", "overview.png", RUN_RECORD} <= _entries(first.output_dir)
    assert latest_run(tmp_path) == first.output_dir
    monkeypatch.setattr(geo.report, "atomic_write_text", _disk_full)  # the report is the last thing written
    with pytest.raises(WriteError, match="No space left on device") as caught:
        run(store=demo_store, runs_dir=tmp_path, documents=True)
    assert caught.value.errno == errno.ENOSPC
    assert latest_run(tmp_path) == first.output_dir
    assert _entries(tmp_path) == {first.output_dir.name, LATEST}


@pytest.fixture
def runner(demo_store, tmp_path: Path, monkeypatch) -> CliRunner:
    """A runner inside a fresh folder whose store is the demo region."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEO_STORE", str(demo_store.root))
    return CliRunner()


def test_disk_full_during_geo_run_keeps_the_latest_run(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    assert runner.invoke(cli, ["run", "-q", "--robustness-draws", "0"]).exit_code == 0
    runs = tmp_path / "data" / "runs"
    before, latest_map = _entries(runs), (tmp_path / "maps" / "latest.html").read_bytes()
    monkeypatch.setattr(geo.report, "atomic_write_bytes", _disk_full)
    result = runner.invoke(cli, ["run", "-q", "--robustness-draws", "0", "--preset", "chip_fab"])
    assert result.exit_code == 6, result.output
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert _entries(runs) == before
    assert (tmp_path / "maps" / "latest.html").read_bytes() == latest_map


def test_disk_full_during_score_keeps_the_previous_file(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "places.csv").write_text("name,lon,lat\nbasin,-113.92,38.46\n")
    (tmp_path / "scored.csv").write_text("previous\n")

    def full_after_opening(table):  # the temporary file is open and partly written when the disk fills
        _disk_full()

    monkeypatch.setattr("geo.scorefile._rounded", full_after_opening)
    result = runner.invoke(cli, ["score", "-q", "--points", "places.csv", "-o", "scored.csv"])
    assert result.exit_code == 6, result.output
    assert "scored.csv" in result.output and "No space left on device" in result.output
    assert (tmp_path / "scored.csv").read_text() == "previous\n"
    assert _entries(tmp_path) == {"places.csv", "scored.csv"}


def test_disk_full_while_writing_the_map_keeps_the_previous_map(runner: CliRunner, tmp_path: Path,
                                                                monkeypatch) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "map.html").write_text("previous")
    monkeypatch.setattr("geo.atomic.os.fsync", _disk_full)  # the page is written, then the disk fills
    result = runner.invoke(cli, ["map", "-q", "--preset", "chip_fab", "-o", "out/map.html"])
    assert result.exit_code == 6, result.output
    assert "out/map.html" in result.output and "No space left on device" in result.output
    assert _entries(tmp_path / "out") == {"map.html"}
    assert (tmp_path / "out" / "map.html").read_text() == "previous"


def test_rank_refuses_an_unknown_output_suffix_before_running(runner: CliRunner, monkeypatch) -> None:
    monkeypatch.setattr("geo.api.run", _disk_full)  # never reached
    result = runner.invoke(cli, ["rank", "-o", "out.txt"])
    assert result.exit_code == 2, result.output
    assert ".csv, .geojson, .parquet" in result.output and "out.txt" in result.output
    assert "Traceback" not in result.output
