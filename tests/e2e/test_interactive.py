"""The interactive review on a real terminal (a pseudo-terminal): decline reverts, accept applies."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Env


def run_on_terminal(argv: list[str], answer: str, *, prompt: str = "Apply this plan",
                    timeout: float = 240) -> tuple[int, str]:
    """Run `argv` with a pty as its terminal; type `answer` when `prompt` appears."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if not answered and prompt.encode() in out:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
        pytest.fail(f"timed out; output so far:\n{out.decode(errors='replace')[-3000:]}")
    rc = proc.wait(timeout=30)
    os.close(master)
    assert answered, out.decode(errors="replace")[-3000:]
    return rc, out.decode(errors="replace")


@pytest.mark.slow
def test_declining_the_plan_reverts_the_edit_and_accepting_applies_it(sandbox_env: Callable[..., Env]) -> None:
    env = sandbox_env("healthy-1.28")
    before = env.tree()
    argv = [sys.executable, "-m", "eks_tfup", "bump", "1.29", "--dir", str(env.tf_dir)]
    rc, out = run_on_terminal(argv, "n")
    assert rc == 3, out[-3000:]
    assert "not approved" in out and "reverted" in out
    assert env.tree() == before
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.28"
    rc, out = run_on_terminal(argv, "y")
    assert rc == 0, out[-3000:]
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.29"
    assert "Plan: 0 to add, 6 to change, 0 to destroy." in out
