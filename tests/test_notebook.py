"""The walkthrough notebook runs top to bottom on the demo region."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_walkthrough_runs_top_to_bottom(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                   for cell in outputs for o in cell)
    assert "candidate sites; synthetic data: True" in text
    assert "ranks 1 of" in text
    assert not any(o.output_type == "error" for cell in outputs for o in cell)
    last = outputs[-1][0]["data"]["text/html"]
    assert "Rank 1 of" in last  # the map is shown inline with its popups
    assert (tmp_path / "data" / "demo").is_dir()  # it ran where it was told to, not in the repository
