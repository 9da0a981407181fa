"""The sandbox process: the AWS endpoint and the Kubernetes API server over one simulated state.

    python -m eks_tfup.sandbox.server --dir DIR --scenario NAME [--seed N] [--time-scale F]
        [--cluster-source scenario|terraform] [--fault KEY=VALUE ...]

Writes into DIR: `kubeconfig` (context named after the cluster ARN, as `aws eks update-kubeconfig`
names it), `env` (shell `export` lines), `terraformrc` (via the provider shim), `server.pid`, and
last `endpoints.json`, whose presence with this pid means every endpoint is serving. Logs go to
`DIR/server.log`. SIGTERM or SIGINT stops it cleanly (pid and endpoints files removed).
"""

from __future__ import annotations

import argparse
import base64
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from eks_tfup.files import write_json_atomic, write_text_atomic

DUMMY_ACCESS_KEY = "AKIAIOSFODNN7SANDBOX"
DUMMY_SECRET_KEY = "sandbox/not-a-real-secret/eks-tfup"


def env_vars(dir: Path, aws_url: str, region: str) -> dict[str, str]:
    """What a shell (or a test) needs to reach the sandbox with ordinary clients."""
    return {
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "KUBECONFIG": str(dir / "kubeconfig"),
        # kubectl and helm cache discovery under ~/.kube/cache by default: keep the sandbox's own.
        "KUBECACHEDIR": str(dir / "kube-cache"),
        "TF_CLI_CONFIG_FILE": str(dir / "terraformrc"),
    }


def env_file_text(env: dict[str, str], scenario: str) -> str:
    lines = [f"# eks-tfup sandbox (scenario {scenario}): `source` this file to point aws, kubectl, helm,",
             "# terraform and eks-tfup at the sandbox. The credentials are dummies.",
             *(f"export {k}={shlex.quote(v)}" for k, v in env.items())]
    return "\n".join(lines) + "\n"


def kubeconfig_doc(server_url: str, token: str, cluster_arn: str, ca_pem: bytes | None) -> dict[str, Any]:
    """Named as `aws eks update-kubeconfig` names things: cluster, user and context are the ARN."""
    cluster: dict[str, Any] = {"server": server_url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": cluster_arn,
            "clusters": [{"name": cluster_arn, "cluster": cluster}],
            "contexts": [{"name": cluster_arn, "context": {"cluster": cluster_arn, "user": cluster_arn}}],
            "users": [{"name": cluster_arn, "user": {"token": token}}]}


def _parse_faults(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--fault expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


class _Log:
    def __init__(self, path: Path) -> None:
        self._fh: IO[str] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        with self._lock:
            self._fh.write(f"{stamp} {message}\n")

    def close(self) -> None:
        self._fh.close()


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    ap = argparse.ArgumentParser(prog="python -m eks_tfup.sandbox.server",
                                 description="Run the eks-tfup sandbox (local EKS/EC2/STS and Kubernetes API).")
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--time-scale", type=float)
    ap.add_argument("--cluster-source", choices=("scenario", "terraform"), default="scenario")
    ap.add_argument("--fault", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)

    dir = args.dir.resolve()
    dir.mkdir(parents=True, exist_ok=True)
    log = _Log(dir / "server.log")
    try:
        return _serve(args, dir, log, started)
    except Exception as exc:
        log(f"sandbox failed to start: {exc!r}")
        raise
    finally:
        log.close()


def _serve(args: argparse.Namespace, dir: Path, log: Callable[[str], None], started: float) -> int:
    from eks_tfup.sandbox import aws_api, kube_api, scenario
    from eks_tfup.sandbox.state import SandboxState

    sc = scenario.load(args.scenario)
    state = SandboxState(sc, time_scale=args.time_scale, seed=args.seed, cluster_source=args.cluster_source,
                         faults=_parse_faults(args.fault), log=log)
    aws = aws_api.make_server(state, args.host, 0, log=None)
    kube = kube_api.make_server(state, args.host, 0)
    state.kube_url = kube.url
    ca_pem = getattr(kube, "ca_pem", None)
    if ca_pem:
        state.ca_data = base64.b64encode(ca_pem).decode()
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
               for name, s in (("aws", aws), ("kube", kube))]
    for t in threads:
        t.start()

    import yaml

    arn = state.cluster_arn()
    env = env_vars(dir, aws.url, sc.region)
    write_text_atomic(dir / "kubeconfig", yaml.safe_dump(kubeconfig_doc(kube.url, state.token, arn, ca_pem),
                                                         sort_keys=False), mode=0o600)
    write_text_atomic(dir / "env", env_file_text(env, sc.name))
    try:
        from eks_tfup.sandbox import provider
    except ImportError as exc:  # the shim is optional for everything but terraform
        log(f"terraform provider shim unavailable: {exc}")
    else:
        provider.install(dir)
    pid = os.getpid()
    write_text_atomic(dir / "server.pid", f"{pid}\n")
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log(f"signal {signal.Signals(signum).name}: stopping")
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    seconds = round(time.monotonic() - started, 3)
    write_json_atomic(dir / "endpoints.json", {
        "pid": pid, "aws_url": aws.url, "kube_url": kube.url, "scenario": sc.name, "cluster_name": sc.cluster.name,
        "cluster_arn": arn, "region": sc.region, "account_id": sc.account_id, "kubeconfig": str(dir / "kubeconfig"),
        "env_file": str(dir / "env"), "seed": state.seed, "time_scale": state.time_scale,
        "cluster_source": args.cluster_source, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "startup_seconds": seconds})
    log(f"sandbox {sc.name} ready in {seconds:.3f}s: aws {aws.url} kube {kube.url} pid {pid} "
        f"(time scale {state.time_scale}, seed {state.seed}, cluster from {args.cluster_source})")
    try:
        while not stop.wait(0.1):
            pass
    finally:
        for s in (aws, kube):
            s.shutdown()
            s.server_close()
        for name in ("endpoints.json", "server.pid"):
            (dir / name).unlink(missing_ok=True)
        log("sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
