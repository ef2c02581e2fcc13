"""Subcommands that the CLI hands to other packages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.export import write_stack_postman
from paybench.cli import main


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


def test_export_postman_default_is_a_printed_path_under_runs(
        isolated_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --out the collection goes under runs/postman/ (not into the current directory)
    and the absolute path written is printed, with the baseUrl it carries."""
    assert main(["export", "postman", "--base-url", "http://127.0.0.1:4321",
                 "--api-key", "k1"]) == 0
    out = capsys.readouterr().out
    path = isolated_cwd / "runs" / "postman" / "paybench.postman_collection.json"
    assert f"wrote {path}" in out
    assert [p.name for p in isolated_cwd.iterdir()] == ["runs"]
    variables = {v["key"]: v["value"] for v in json.loads(path.read_text())["variable"]}
    assert (variables["baseUrl"], variables["apiKey"]) == ("http://127.0.0.1:4321", "k1")


def test_stack_postman_files_carry_each_targets_url_and_key(tmp_path: Path) -> None:
    """The files `paybench up` writes: a collection and one environment per target with its
    URL and first merchant key."""
    collection, envs = write_stack_postman(tmp_path, {
        "legacy": ("http://127.0.0.1:5001", ["kl1", "kl2"]),
        "engine": ("http://127.0.0.1:5002", ["ke1"])})
    assert collection.parent == tmp_path
    assert [p.name for p in envs] == ["legacy.postman_environment.json",
                                      "engine.postman_environment.json"]
    engine = json.loads(envs[1].read_text())
    assert engine["_postman_variable_scope"] == "environment"
    assert {v["key"]: v["value"] for v in engine["values"]} == {
        "baseUrl": "http://127.0.0.1:5002", "apiKey": "ke1"}
    variables = {v["key"]: v["value"] for v in json.loads(collection.read_text())["variable"]}
    assert variables["baseUrl"] == "http://127.0.0.1:5001"
