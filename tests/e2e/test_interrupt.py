"""Ctrl-C during the apply: Terraform gets the interrupt and stops; `resume` finishes the upgrade."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, Env


def _journal(tf_dir: Path) -> dict[str, object] | None:
    runs = tf_dir / ".eks-tfup" / "runs"
    if not runs.is_dir():
        return None
    dirs = sorted(runs.iterdir())
    if not dirs or not (dirs[-1] / "journal.json").is_file():
        return None
    data: dict[str, object] = json.loads((dirs[-1] / "journal.json").read_text())
    return data


@pytest.mark.slow
def test_interrupt_during_apply_then_resume(sandbox_env: Callable[..., Env], cli: Callable[..., CliResult]) -> None:
    # A slow simulated control-plane update, so the interrupt lands while terraform applies.
    env = sandbox_env("healthy-1.28", time_scale=0.02)  # a 30-minute update takes 36 s
    proc = subprocess.Popen([sys.executable, "-m", "eks_tfup", "bump", "1.29", "--yes", "--dir", str(env.tf_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        j = _journal(env.tf_dir)
        steps = j.get("steps", {}) if j else {}
        if isinstance(steps, dict) and steps.get("apply", {}).get("status") == "running":
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the apply never started")
    time.sleep(2.0)  # terraform is now inside UpdateClusterVersion's wait
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, out[-2000:] + err
    j = _journal(env.tf_dir)
    assert j is not None and j["status"] == "interrupted"
    assert "eks-tfup resume" in err
    # No Terraform state lock is left behind: a plan in the same directory works (resume plans again).
    result = cli("resume", "--yes", "--dir", str(env.tf_dir))
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    cluster = env.eks().describe_cluster(name="demo")["cluster"]
    assert (cluster["version"], cluster["status"]) == ("1.29", "ACTIVE")
