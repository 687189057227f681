"""Places files that cannot be read: one clear error, nothing printed ahead of it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from geo.cli import cli

UNCLOSED = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "x"}, '
            '"geometry": {"type": "Polygon", "coordinates": [[[-114.2, 38.4], [-114.1, 38.4], [-114.1, 38.5], '
            '[-114.2, 38.5]]]}}]}')


def test_an_unclosed_ring_is_one_error_without_a_gdal_warning(tmp_path: Path, monkeypatch, capfd) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.geojson").write_text(UNCLOSED)
    result = CliRunner().invoke(cli, ["score", "--points", "bad.geojson", "-q"])
    assert result.exit_code == 3, result.output
    assert "bad.geojson" in result.output and "ring is not closed" in result.output
    captured = capfd.readouterr()
    assert "RuntimeWarning" not in captured.err + captured.out + result.output
