"""Start, stop and inspect a sandbox process (no CLI framework here: the CLI calls these).

    info = up("healthy-1.28", Path(".eks-tfup/sandbox"))   # returns once every endpoint answers
    env = read_env(info.dir)                               # AWS_ENDPOINT_URL, KUBECONFIG, ...
    down(info.dir)                                         # idempotent; leaves no process behind
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_tfup import proc
from eks_tfup.errors import StepFailed, UsageError

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
_SERVER_MODULE = "eks_tfup.sandbox.server"


@dataclass(frozen=True)
class SandboxInfo:
    aws_url: str
    kube_url: str
    env: Mapping[str, str]
    kubeconfig: Path
    pid: int
    dir: Path
    scenario: str = ""
    cluster_name: str = ""
    region: str = ""
    startup_seconds: float = 0.0


def scenarios() -> list[tuple[str, str]]:
    """(name, description) of every shipped scenario."""
    from eks_tfup.sandbox import scenario

    return scenario.available()


def up(scenario: str, dir: Path, *, seed: int | None = None, time_scale: float | None = None,
       cluster_source: str = "scenario", faults: dict[str, str] | None = None) -> SandboxInfo:
    """Start a sandbox serving `scenario` from `dir`; return once its endpoints answer."""
    from eks_tfup.sandbox import scenario as scenario_mod

    started = time.monotonic()
    dir = Path(dir).resolve()
    scenario_mod.load(scenario)  # a bad name or file fails here, before anything starts
    if faults:
        scenario_mod.Faults().with_overrides(faults)
    if cluster_source not in ("scenario", "terraform"):
        raise UsageError(f"cluster source must be 'scenario' or 'terraform', not {cluster_source!r}")
    if time_scale is not None and time_scale <= 0:
        raise UsageError("time scale must be > 0")
    dir.mkdir(parents=True, exist_ok=True)
    running = _running_pid(dir)
    if running is not None:
        raise UsageError(f"a sandbox is already running in {dir} (pid {running})",
                         hint="stop it first (sandbox down)")
    for name in ("endpoints.json", "server.pid"):
        (dir / name).unlink(missing_ok=True)
    argv = [sys.executable, "-m", _SERVER_MODULE, "--dir", str(dir), "--scenario", scenario,
            "--cluster-source", cluster_source]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if time_scale is not None:
        argv += ["--time-scale", repr(float(time_scale))]
    for key, value in (faults or {}).items():
        argv += ["--fault", f"{key}={value}"]
    root = str(Path(__file__).resolve().parents[2])
    pythonpath = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    pid = proc.spawn_detached(argv, log_path=dir / "server.log", env={"PYTHONPATH": pythonpath}, cwd=dir)
    deadline = started + START_TIMEOUT
    endpoints: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise StepFailed(f"the sandbox server exited during start-up: {_log_tail(dir)}",
                             hint=f"see {dir / 'server.log'}")
        endpoints = _endpoints(dir)
        if endpoints is not None and endpoints.get("pid") == pid and _answers(endpoints):
            break
        time.sleep(0.01)
    else:
        _stop_pid(pid)
        raise StepFailed(f"the sandbox did not answer within {START_TIMEOUT:.0f}s: {_log_tail(dir)}",
                         hint=f"see {dir / 'server.log'}")
    assert endpoints is not None
    return SandboxInfo(aws_url=endpoints["aws_url"], kube_url=endpoints["kube_url"], env=read_env(dir),
                       kubeconfig=Path(endpoints["kubeconfig"]), pid=pid, dir=dir, scenario=endpoints["scenario"],
                       cluster_name=endpoints["cluster_name"], region=endpoints["region"],
                       startup_seconds=round(time.monotonic() - started, 3))


def down(dir: Path) -> None:
    """Stop the sandbox in `dir` (SIGTERM, then SIGKILL) and wait until it is gone. Idempotent."""
    dir = Path(dir).resolve()
    pid = _running_pid(dir)
    if pid is not None:
        _stop_pid(pid)
    for name in ("endpoints.json", "server.pid"):
        (dir / name).unlink(missing_ok=True)


def status(dir: Path) -> dict[str, Any]:
    """The running sandbox's state (cluster, node groups, add-ons, updates, faults), or running False."""
    dir = Path(dir).resolve()
    pid = _running_pid(dir)
    endpoints = _endpoints(dir)
    if pid is None or endpoints is None:
        return {"running": False, "dir": str(dir)}
    try:
        with urllib.request.urlopen(endpoints["aws_url"] + "/_sandbox/state", timeout=5) as resp:
            state = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        return {"running": True, "pid": pid, "dir": str(dir), "error": f"state not readable: {exc}", **endpoints}
    return {"running": True, "pid": pid, "dir": str(dir), "aws_url": endpoints["aws_url"],
            "kube_url": endpoints["kube_url"], **state}


def read_env(dir: Path) -> dict[str, str]:
    """The `export K=V` lines of DIR/env as a dict."""
    path = Path(dir) / "env"
    if not path.exists():
        raise UsageError(f"no sandbox environment in {dir}", hint="start one with sandbox up")
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        for word in shlex.split(line[len("export "):]):
            key, sep, value = word.partition("=")
            if sep:
                out[key] = value
    return out


# -- process helpers -------------------------------------------------------------------------------


def _endpoints(dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((dir / "endpoints.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _answers(endpoints: dict[str, Any]) -> bool:
    """Both endpoints answer HTTP (any status: the point is that they serve)."""
    try:
        with urllib.request.urlopen(endpoints["aws_url"] + "/_sandbox/health", timeout=2):
            pass
    except urllib.error.HTTPError:
        pass
    except OSError:
        return False
    # The Kubernetes endpoint refuses requests while the cluster does not exist yet (created by
    # Terraform later) or is CREATING, as a real one would: that it accepts connections is enough.
    parsed = urllib.parse.urlsplit(endpoints["kube_url"])
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 443), timeout=2):
            pass
    except OSError:
        return False
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our child (so it does not linger as a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_sandbox(pid: int) -> bool:
    """Only ever signal a process that is our server (the pid file may be stale and the pid reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc (macOS): trust the pid file
    return _SERVER_MODULE.encode() in cmdline


def _running_pid(dir: Path) -> int | None:
    try:
        pid = int((dir / "server.pid").read_text().strip())
    except (OSError, ValueError):
        endpoints = _endpoints(dir)
        pid = int(endpoints["pid"]) if endpoints and isinstance(endpoints.get("pid"), int) else 0
    if pid > 0 and _alive(pid) and _is_sandbox(pid):
        return pid
    return None


def _stop_pid(pid: int) -> None:
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            _reap(pid)
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.01)
    raise StepFailed(f"the sandbox server (pid {pid}) did not stop")


def _log_tail(dir: Path, lines: int = 5) -> str:
    try:
        text = (dir / "server.log").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "(no log)"
    return " | ".join(text.splitlines()[-lines:]) or "(empty log)"
