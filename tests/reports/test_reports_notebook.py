"""The analysis notebook executes top to bottom on the committed fixture, as the README says
to run it."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def test_analysis_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell of notebooks/analysis.ipynb runs without error and shows the verdict."""
    monkeypatch.setenv("PAYBENCH_RUN_DIR", str(ROOT / "tests" / "fixtures" / "run_small"))
    # Jupyter warns about its legacy path layout unless told to use platformdirs
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(ROOT / "notebooks" / "analysis.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    assert "Verdict:" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 5
    assert os.environ["PAYBENCH_RUN_DIR"].endswith("run_small")


def test_readme_says_how_to_run_the_notebook() -> None:
    """The project README runs the notebook with the variable the notebook reads and a
    command that exists in the dev install."""
    nb = nbformat.read(ROOT / "notebooks" / "analysis.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    (variable,) = re.findall(r'os\.environ\.get\("(PAYBENCH_[A-Z_]+)"\)', source)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The analysis notebook", 1)[1].split("\n## ", 1)[0]
    assert f"{variable}=" in section
    assert "jupyter execute notebooks/analysis.ipynb" in section
    assert (Path(sys.executable).parent / "jupyter-execute").exists()
