"""Every test says in a docstring what must hold (the project's rule for tests)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_FILES = ("test_*.py", "*_test.py")  # pytest's default python_files


def undocumented(path: Path, root: Path = ROOT) -> list[str]:
    """``path:line name`` (relative to ``root``) of each test in ``path`` without a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(root)}:{node.lineno} {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
        and not (ast.get_docstring(node) or "").strip()
    ]


def test_every_test_has_a_docstring() -> None:
    """Each test function in tests/ and benchmarks/ starts with a docstring."""
    files = sorted({p for d in ("tests", "benchmarks") for pattern in TEST_FILES
                    for p in (ROOT / d).rglob(pattern)})  # fmt: skip
    assert len(files) > 50  # the walk found the suite
    missing = [name for path in files for name in undocumented(path)]
    assert missing == [], "tests without a docstring:\n" + "\n".join(missing)


def test_the_check_finds_an_undocumented_test(tmp_path: Path) -> None:
    """A test without a docstring is reported by file, line and name; a documented one is not."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        'def test_a():\n    """Holds."""\n\n\n'
        "class TestC:\n    async def test_b(self):\n        pass\n"
    )
    assert undocumented(sample, tmp_path) == ["test_sample.py:6 test_b"]
