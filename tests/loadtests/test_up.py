"""``paybench up``: the stack for manual exploration, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest


@pytest.mark.slow
def test_up_serves_until_interrupted_and_leaves_no_process(tmp_path: Path) -> None:
    """``paybench up`` prints working URLs and keys; SIGINT stops every process it started."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
    env.update(PAYBENCH_DATABASE_URL=os.environ["PAYBENCH_TEST_DATABASE_URL"],
               PAYBENCH_REDIS_URL=os.environ["PAYBENCH_TEST_REDIS_URL"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "paybench.cli", "up", "--workers", "1",
         "--gateway-profile", "instant", "--out", str(tmp_path / "runs")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        text = "".join(lines)
        urls = dict(re.findall(r"^(legacy|engine): (http://\S+)$", text, re.MULTILINE))
        keys = re.findall(r"PAYBENCH_API_KEYS=([^,\s]+)", text)
        assert set(urls) == {"legacy", "engine"}, text
        # Postman files with the stack's real URLs and keys, where the output says
        postman = re.search(r"^Postman: import (\S+)$", text, re.MULTILINE)
        assert postman is not None, text
        collection = Path(postman.group(1))
        engine_env = json.loads((collection.parent / "engine.postman_environment.json")
                                .read_text())
        values = {v["key"]: v["value"] for v in engine_env["values"]}
        assert values["baseUrl"] == urls["engine"]
        assert values["apiKey"] in text
        assert collection.is_relative_to(tmp_path / "runs")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "the stack runs as child processes"
        for url in urls.values():
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
            resp = httpx.get(f"{url}/v1/payments", params={"order_id": "none"},
                             auth=(keys[0], ""), timeout=10)
            assert resp.status_code == 200
            assert resp.json() == {"object": "list", "data": []}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) in (0, 130)
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"left running: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
