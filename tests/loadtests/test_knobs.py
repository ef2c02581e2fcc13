"""Each knob is declared once, and what derives from the declaration (flags, variables,
docs, the Locust child's environment and its reader) agrees with it."""

from __future__ import annotations

import dataclasses
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.config import (
    CHILD_KNOBS,
    SETTINGS,
    RunConfig,
    child_config,
    child_variables,
    env_warnings,
    resolve,
)
from loadtests.errors import ConfigError
from loadtests.knobs import env_name, to_env
from loadtests.locust_process import LoadSpec, child_env
from loadtests.trials import TrialRunner, plan_run
from paybench import cli

# a value other than the default for every knob the child reads
CHILD_VALUES = {"seed": "9", "api_keys": "run_key", "think_time_s": "0.25",
                "poll_interval_s": "0.5", "poll_max": "3", "retry_concurrency": "7",
                "browse_pool": "2", "processes": "2", "open_late_ms": "20",
                "open_drop_after_ms": "300"}


def test_every_field_is_a_complete_declaration() -> None:
    """Each RunConfig field has a flag, commands, a help line and a parser, and its
    default parses back from its own variable's text."""
    assert list(SETTINGS) == [f.name for f in dataclasses.fields(RunConfig)]
    for name, knob in SETTINGS.items():
        assert knob.flag.startswith("--"), name
        assert knob.commands, name
        assert knob.help, name
        assert knob.env == env_name(name) == "PAYBENCH_" + name.upper()
        assert knob.parse(to_env(knob.default)) == knob.default, name
    assert len({k.flag for k in SETTINGS.values()}) == len(SETTINGS)


def test_the_child_reads_every_child_knob_the_run_sets(tmp_path: Path) -> None:
    """child_config(child_env(spec)) gives back the run's value of every knob declared
    child, except api_keys, which are the trial's target's."""
    assert set(CHILD_VALUES) == set(CHILD_KNOBS)
    config = resolve(CHILD_VALUES, env={}, cwd=tmp_path)
    spec = LoadSpec(host="http://127.0.0.1:9", trial_dir=tmp_path, config=config, users=1,
                    spawn_rate=1.0, warmup_s=1.0, duration_s=1.0, api_keys=("target_key",))
    env = child_env(spec, {"PAYBENCH_POLL_MAX": "99", "HOME": "/root"})
    seen = child_config(env)
    for name in CHILD_KNOBS:
        expected = ("target_key",) if name == "api_keys" else getattr(config, name)
        assert getattr(seen, name) == expected, name
    assert env["HOME"] == "/root"


def test_revived_scenario_knobs_are_settings() -> None:
    """The scenario variables the child used to read unseen are knobs now: documented,
    passed to the child, and no warning is given for them."""
    revived = ("poll_interval_s", "poll_max", "retry_concurrency", "browse_pool")
    variables = child_variables(RunConfig())
    for name in revived:
        assert SETTINGS[name].child
        assert env_name(name) in variables
    assert env_warnings({env_name(n): "1" for n in revived}) == []


def test_child_values_are_checked_with_the_variable_named() -> None:
    """A bad value given to a hand-run locustfile names its variable, as the CLI does."""
    with pytest.raises(ConfigError, match=r"PAYBENCH_POLL_MAX: poll_max: expected an integer"):
        child_config({"PAYBENCH_POLL_MAX": "many"})
    with pytest.raises(ConfigError, match=r"PAYBENCH_BROWSE_POOL: browse_pool must be >= 1"):
        child_config({"PAYBENCH_BROWSE_POOL": "0"})
    assert child_config({"PAYBENCH_POLL_MAX": "", "PAYBENCH_USERS": "x"}) == RunConfig()


@pytest.mark.parametrize(("argv", "reason"), [
    (["run", "--users", "4", "--browse-pool", "3"], "applies to the browse scenario"),
    (["run", "--users", "4", "--scenario", "ping", "--poll-max", "3"],
     "applies to the checkout, refunds and mixed scenarios"),
    (["run", "--users", "4", "--retry-concurrency", "8"], "and this run runs checkout"),
])
def test_scenario_knob_of_another_scenario_is_exit_2(
        isolated_cwd: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        reason: str) -> None:
    """A scenario's flag given with another scenario exits 2, saying which it applies to."""
    assert cli.main([*argv, "--out", "runs"]) == 2
    err = capsys.readouterr().err
    assert f"{argv[-2]} does not apply" in err
    assert reason in err
    assert not (isolated_cwd / "runs").exists()


class _Counter(http.server.BaseHTTPRequestHandler):
    """GET /ping answers 200 (the target is idle); everything else is counted and 503."""

    counts: dict[str, int]

    def _answer(self) -> None:
        key = f"{self.command} {self.path}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.send_response(200 if self.path == "/ping" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[tuple[str, dict[str, int]]]:
    """An HTTP server on 127.0.0.1 counting requests by method and path."""
    counts: dict[str, int] = {}
    handler = type("Counter", (_Counter,), {"counts": counts})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counts
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_browse_pool_reaches_the_users_of_a_trial(
        tmp_path: Path, counting_server: tuple[str, dict[str, int]]) -> None:
    """Through a real trial, each browse user creates --browse-pool payments at start (3,
    not the default 5)."""
    url, counts = counting_server
    config = resolve({"scenario": "browse", "users": "2", "browse_pool": "3",
                      "think_time_s": "0.05", "duration_s": "1", "warmup_s": "0.5",
                      "api_keys": "key_a", "targets": "legacy"}, env={}, cwd=tmp_path)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    runner = TrialRunner(tmp_path, config, urls={"legacy": url}, api_keys={}, stack=None,
                         base_env=base_env, log=lambda _line: None)
    runner.run(plan_run(config)[:1])
    assert counts.get("POST /v1/payments") == 2 * 3
