"""Configuration resolution: precedence of sources, validation, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.config import QUICK, RunConfig, resolve
from loadtests.errors import ConfigError
from paybench import cli


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    """With no file, env or flag every knob has its documented default."""
    assert resolve({}, env={}, cwd=tmp_path) == RunConfig()


def test_precedence_file_env_quick_cli(tmp_path: Path) -> None:
    """CLI beats --quick beats env beats paybench.toml beats defaults."""
    (tmp_path / "paybench.toml").write_text(
        'users = 50\nduration_s = 60\nwarmup_s = 9\nlabel = "file"\nworkers = 3\n'
    )
    env = {"PAYBENCH_USERS": "40", "PAYBENCH_WORKERS": "4", "PAYBENCH_SEED": "7"}
    cfg = resolve({"duration_s": "4"}, env=env, cwd=tmp_path, quick=True)
    assert cfg.duration_s == 4.0  # CLI
    assert cfg.warmup_s == QUICK["warmup_s"]  # quick over env and file
    assert cfg.users == 40  # env over file; quick leaves the user count alone
    assert cfg.model == "closed"  # users given (by env or file): the closed model
    assert cfg.workers == 4  # env over file
    assert cfg.seed == 7
    assert cfg.label == "quick"
    cfg = resolve({}, env=env, cwd=tmp_path)
    assert (cfg.users, cfg.duration_s, cfg.label) == (40, 60.0, "file")


def test_pyproject_tool_table(tmp_path: Path) -> None:
    """[tool.paybench] in pyproject.toml is read when there is no paybench.toml."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.paybench]\ntargets = ["engine"]\nrate = 50\n'
    )
    cfg = resolve({}, env={}, cwd=tmp_path)
    assert cfg.targets == ("engine",)
    assert cfg.model == "open"
    assert cfg.users == 250  # the open-model cap defaults to 5 s of arrivals


@pytest.mark.parametrize(
    ("cli_values", "env", "message"),
    [
        ({"users": "0"}, {}, "users must be >= 1"),
        ({"users": "ten"}, {}, "expected an integer"),
        ({}, {"PAYBENCH_DURATION_S": "-1"}, "duration_s must be > 0"),
        ({"targets": "legacy,legacy"}, {}, "distinct"),
        ({"targets": "nginx"}, {}, "unknown target"),
        ({"scenario": "nope"}, {}, "scenario must be one of"),
        ({"gateway_profile": "warp"}, {}, "gateway_profile"),
        ({"slo": "p99<<5"}, {}, "p99<<5"),
        ({"target_urls": "engine=ftp://x"}, {}, "http"),
        ({"target_urls": "engine=http://10.0.0.5:8000", "targets": "engine"}, {}, "API keys"),
        ({"database_url": "mysql://x"}, {}, "postgres"),
    ],
)
def test_bad_values_raise(
    tmp_path: Path, cli_values: dict[str, object], env: dict[str, str], message: str
) -> None:
    """Every invalid value raises ConfigError with a message naming the problem."""
    with pytest.raises(ConfigError, match=message):
        resolve(cli_values, env=env, cwd=tmp_path)


def test_unknown_key_in_file_names_the_file(tmp_path: Path) -> None:
    """A typo in paybench.toml is an error that names the file and the key."""
    (tmp_path / "paybench.toml").write_text("userz = 3\n")
    with pytest.raises(ConfigError, match=r"paybench.toml.*'userz'"):
        resolve({}, env={}, cwd=tmp_path)


def test_cli_exits_2_on_bad_config(
    isolated_cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """paybench run with a bad value exits 2 with a message and creates no run directory."""
    monkeypatch.delenv("PAYBENCH_USERS", raising=False)
    code = cli.main(["run", "--users", "0", "--out", str(isolated_cwd / "runs")])
    assert code == 2
    assert "users must be >= 1" in capsys.readouterr().err
    assert not (isolated_cwd / "runs").exists()


def test_cli_exits_2_on_bad_toml(isolated_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed paybench.toml exits 2 before anything starts."""
    (isolated_cwd / "paybench.toml").write_text("users = [\n")
    assert cli.main(["run", "--quick"]) == 2
    assert "invalid TOML" in capsys.readouterr().err


def test_cli_exits_2_on_unknown_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown flag exits 2 (argparse) with a usage line."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--userz", "3"])
    assert exc.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_sweep_needs_steps(isolated_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """paybench sweep without stairs is a configuration error."""
    assert cli.main(["sweep", "--quick"]) == 2
    assert "--sweep-users" in capsys.readouterr().err


def test_model_follows_users_and_rate(tmp_path: Path) -> None:
    """No load flags: capacity search; --users: closed; --rate: open; a rate with an
    explicit capacity model is refused."""
    assert resolve({}, env={}, cwd=tmp_path).model == "capacity"
    assert resolve({"users": "8"}, env={}, cwd=tmp_path).model == "closed"
    assert resolve({"rate": "40"}, env={}, cwd=tmp_path).model == "open"
    assert resolve({"load_model": "closed"}, env={}, cwd=tmp_path).model == "closed"
    with pytest.raises(ConfigError, match="capacity search chooses its own rates"):
        resolve({"load_model": "capacity", "rate": "40"}, env={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="open model needs rate"):
        resolve({"load_model": "open"}, env={}, cwd=tmp_path)


def test_slo_sets_an_absolute_objective(tmp_path: Path) -> None:
    """--slo p99<800ms,errors<2% overrides the derived objective of a capacity search."""
    cfg = resolve({"slo": "p99<800ms,errors<2%"}, env={}, cwd=tmp_path)
    assert (cfg.slo_p99_ms, cfg.slo_error_ratio) == (800.0, 0.02)
    default = resolve({}, env={}, cwd=tmp_path)
    assert (default.slo_p99_ms, default.slo_error_ratio) == (None, 0.01)
