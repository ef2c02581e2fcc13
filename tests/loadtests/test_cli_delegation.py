"""Subcommands that the CLI hands to other packages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.cli import main


def test_export_postman_writes_a_collection(tmp_path: Path) -> None:
    """``paybench export postman --out F`` writes a Postman v2.1 collection and exits 0."""
    out = tmp_path / "paybench.postman_collection.json"
    assert main(["export", "postman", "--out", str(out)]) == 0
    collection = json.loads(out.read_text())
    assert collection["info"]["schema"].endswith("v2.1.0/collection.json")
    assert collection["item"]


def test_export_without_a_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``paybench export`` alone prints its usage and exits 2."""
    assert main(["export"]) == 2
    assert "usage: paybench export postman" in capsys.readouterr().err


def test_shadow_help_reaches_the_shadow_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """``paybench shadow --help`` shows the shadow command's own help."""
    with pytest.raises(SystemExit) as info:
        main(["shadow", "--help"])
    assert info.value.code == 0
    assert "proxy" in capsys.readouterr().out
