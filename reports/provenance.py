"""How to run a run again: its exact ``paybench`` command and the code it ran.

``config.json`` keeps the command line (``command``) and the settings the environment and
``paybench.toml`` gave (``settings_from``); ``environment.json`` the git commit. The
report shows them together, so a reviewer can rerun what they read about.
"""

from __future__ import annotations

import shlex
from typing import Any

from rundir.config import RunDoc


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def reproduction(config: RunDoc, environment: dict[str, Any]) -> dict[str, Any]:
    """The command (with the ``PAYBENCH_*`` variables it ran with), the config file's
    settings, and the git commit; None where the run did not record them."""
    sources = config.settings_from
    env = (sources.env if sources is not None else None) or {}
    shown = None
    if config.command:
        prefix = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in sorted(env.items()))
        shown = (prefix + " " if prefix else "") + shlex.join(str(c) for c in config.command)
    file = sources.file if sources is not None else None
    file_text = None
    if file is not None and file.path:
        values = file.values or {}
        file_text = (f"{file.path}: "
                     + ("; ".join(f"{k} = {_toml_value(v)}" for k, v in values.items())
                        or "(empty)"))
    raw = environment.get("git")
    git: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "command": shown,
        "config_file": file_text,
        "git_commit": git.get("commit"),
        "git_branch": git.get("branch"),
        "git_dirty": git.get("dirty"),
    }
