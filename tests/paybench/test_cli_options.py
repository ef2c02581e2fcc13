"""Each command takes only its own options; flags that do not apply, misspelt variables and
bad values in any source are reported before anything starts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.config import env_warnings, resolve
from loadtests.errors import ConfigError, StopSignal, interrupt_reason
from loadtests.options import OPTIONS, inapplicable
from paybench import cli

ROOT = Path(__file__).resolve().parents[2]


def help_text(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_up_help_lists_only_stack_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`paybench up --help` shows the stack's options, none of the load, SLO or sweep ones."""
    text = help_text("up", capsys)
    for flag in ("--workers", "--gateway-profile", "--database-url", "--target-url"):
        assert flag in text
    for flag in ("--trials", "--slo", "--sweep-users", "--rate", "--quick", "--search-start"):
        assert not re.search(rf"{flag}\b", text), flag


def test_run_and_sweep_help_keep_to_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    """`run --help` has no sweep or step option; `sweep --help` has no --trials; every
    knob's flag is listed by at least one command."""
    run, sweep = help_text("run", capsys), help_text("sweep", capsys)
    assert "--sweep-users" not in run
    assert "--step-duration" not in run
    assert "--trials " not in sweep
    assert "--sweep-gateway-ms" in sweep
    up = help_text("up", capsys)
    assert all(o.flag in run + sweep + up for o in OPTIONS)


def test_flag_of_another_command_is_exit_2(
        isolated_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --rate 10 --sweep-users 4,8` exits 2 naming the command the flag belongs to,
    and starts nothing."""
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--rate", "10", "--sweep-users", "4,8", "--out", "runs"])
    assert exc.value.code == 2
    assert "--sweep-users is not an option of paybench run: it belongs to paybench sweep" \
        in capsys.readouterr().err
    assert not (isolated_cwd / "runs").exists()


@pytest.mark.parametrize(("argv", "reason"), [
    (["run", "--trials", "3"], "confirms with --confirm-trials"),
    (["run", "--users", "8", "--search-start", "4"], "applies to the capacity search"),
    (["run", "--rate", "10", "--think-time", "1"], "starts on schedule"),
    (["run", "--users", "8", "--open-late-ms", "20"], "applies to offered rates"),
    (["run", "--stop-timeout", "3"], "custom --locustfile"),
    (["run", "--slo-targets", "engine"], "no --slo is set"),
    (["sweep", "--sweep-gateway-ms", "50,100", "--step-duration", "5"],
     "not to a capacity search"),
    (["sweep", "--users", "8", "--sweep-gateway-ms", "50", "--duration", "5"],
     "--step-duration"),
    (["sweep", "--sweep-users", "4,8", "--duration", "5"], "--step-duration"),
    (["sweep", "--sweep-rates", "4,8", "--rate", "5"], "the stairs set the load"),
])
def test_flag_that_does_not_apply_is_exit_2(
        isolated_cwd: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        reason: str) -> None:
    """A flag the command knows but the chosen load model would ignore exits 2, saying why."""
    assert cli.main([*argv, "--out", "runs"]) == 2
    err = capsys.readouterr().err
    assert f"{argv[-2]} does not apply" in err
    assert reason in err
    assert not (isolated_cwd / "runs").exists()


def test_shared_settings_from_env_and_file_are_not_errors(tmp_path: Path) -> None:
    """Settings of other commands or models in the environment or paybench.toml are kept
    for them: only command-line flags are held to the command."""
    (tmp_path / "paybench.toml").write_text("step_trials = 2\nsweep_users = [4, 8]\n")
    args, given = cli.parse(["run", "--label", "x"])
    config = cli.config_from_args(args, {"PAYBENCH_TRIALS": "3", "PAYBENCH_SEARCH_START": "4"},
                                  tmp_path)
    assert given == {"label"}
    assert inapplicable(given, config, "run") == []
    assert (config.trials, config.step_trials, config.sweep_users) == (3, 2, (4, 8))


def test_misspelt_variable_is_named_with_the_closest_setting(
        isolated_cwd: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """PAYBENCH_DURATON_S gets a warning naming PAYBENCH_DURATION_S; variables the services,
    the notebook or the test suite read are not warned about."""
    warnings = env_warnings({"PAYBENCH_DURATON_S": "5", "PAYBENCH_TEST_DATABASE_URL": "x",
                             "PAYBENCH_RUN_DIR": "r", "PAYBENCH_CACHE_TTL_S": "3",
                             "HOME": "/root"})
    assert warnings == ["PAYBENCH_DURATON_S is not a paybench setting and is ignored; did you "
                        "mean PAYBENCH_DURATION_S?"]
    assert "paybench run --help" in env_warnings({"PAYBENCH_XYZZY": "1"})[0]
    monkeypatch.setenv("PAYBENCH_WOKERS", "4")
    assert cli.main(["run", "--users", "0"]) == 2  # stops before anything starts
    assert "did you mean PAYBENCH_WORKERS?" in capsys.readouterr().err


def test_bad_value_is_reported_even_when_overridden(tmp_path: Path) -> None:
    """A bad paybench.toml value is an error with --quick or a flag overriding it; so is a
    bad variable that a flag overrides; each message names its source."""
    (tmp_path / "paybench.toml").write_text("duration_s = -5\n")
    with pytest.raises(ConfigError, match=r"paybench.toml: duration_s must be > 0"):
        resolve({}, env={}, cwd=tmp_path, quick=True)
    with pytest.raises(ConfigError, match=r"paybench.toml: duration_s must be > 0"):
        resolve({"duration_s": "3"}, env={}, cwd=tmp_path)
    (tmp_path / "paybench.toml").unlink()
    with pytest.raises(ConfigError, match=r"PAYBENCH_WORKERS: workers must be >= 1"):
        resolve({"workers": "2"}, env={"PAYBENCH_WORKERS": "0"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"PAYBENCH_GATEWAY_PROFILE: gateway_profile must"):
        resolve({"gateway_profile": "fast"}, env={"PAYBENCH_GATEWAY_PROFILE": "warp"},
                cwd=tmp_path)


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """The test process's stop-signal handlers, restored after the test."""
    saved = {sig: signal.getsignal(sig) for sig in cli.STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                           (signal.SIGINT, 130)])
def test_stop_signals_are_named(own_signal_handlers: None, sig: signal.Signals,
                                code: int) -> None:
    """SIGTERM, SIGHUP and SIGINT unwind like Ctrl-C, named in the reason and the exit code."""
    cli._install_stop_signals()
    with pytest.raises(StopSignal) as exc:
        signal.raise_signal(sig)
    assert exc.value.name == sig.name
    assert isinstance(exc.value, KeyboardInterrupt)
    expected = f"interrupted by {sig.name}" + (" (Ctrl-C)" if sig == signal.SIGINT else "")
    assert interrupt_reason(exc.value) == expected
    assert cli.exit_code_of(sig.name) == code


def test_up_with_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    """`paybench up` with a database that does not answer exits 1 with one line, no
    traceback, and leaves no run directory behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    done = subprocess.run(
        [sys.executable, "-m", "paybench.cli", "up", "--database-url",
         "postgresql://nobody@127.0.0.1:1/none", "--redis-url",
         os.environ["PAYBENCH_TEST_REDIS_URL"], "--out", str(tmp_path / "runs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("paybench up:")]
    assert "the stack did not start: postgres at postgresql://nobody@127.0.0.1:1/none is not " \
        "reachable" in line
    assert list((tmp_path / "runs").iterdir()) == []
