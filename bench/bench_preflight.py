"""Time `eks-tfup preflight` on a big cluster: 200 nodes, 10,000 pods, 100 Helm releases.

Writes that scenario into a temp dir, starts the sandbox on it, runs preflight in-process (no
Terraform directory, so no helmfile rendering) and prints the wall time of a cold and a warm run,
the API calls made (Aws.calls, Kube.calls, and every HTTP request counted at urllib3, which
includes the chart scan's release-secret and live-object lists) and the failing check ids.
Usage: python bench/bench_preflight.py [nodes] [pods] [releases]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package


def scenario(nodes: int, pods: int, releases: int) -> dict[str, Any]:
    groups = 4
    per_release = 20
    daemon_pods = 2 * nodes  # aws-node and kube-proxy on every node
    plain = max(0, pods - daemon_pods - releases * per_release - 2)  # 2: CoreDNS
    plain_deployments = 40
    return {
        "name": "bench-big", "description": "preflight benchmark", "region": "us-east-1",
        "support_date": "2024-06-01",
        "cluster": {"name": "demo", "version": "1.28", "subnets": [
            {"id": "subnet-0a1b2c3d4e5f69901", "az": "us-east-1a", "cidr": "10.9.0.0/18", "free_ips": 16000},
            {"id": "subnet-0a1b2c3d4e5f69902", "az": "us-east-1b", "cidr": "10.9.64.0/18", "free_ips": 16000}]},
        "nodegroups": [{"name": f"ng-{i}", "ami_type": "AL2023_x86_64_STANDARD", "node_count": nodes // groups,
                        "instance_type": "m5.xlarge"} for i in range(groups)],
        "addons": [{"name": "vpc-cni", "version": "v1.18.3-eksbuild.3"},
                   {"name": "coredns", "version": "v1.10.1-eksbuild.18"},
                   {"name": "kube-proxy", "version": "v1.28.15-eksbuild.4"}],
        "workloads": [{"kind": "Deployment", "name": f"svc-{i}", "namespace": f"team-{i % 10}",
                       "replicas": plain // plain_deployments + (1 if i < plain % plain_deployments else 0),
                       "labels": {"app": f"svc-{i}"}, "pdb": {"max_unavailable": 1}}
                      for i in range(plain_deployments)],
        "helm_releases": [{"name": f"rel-{i}", "namespace": f"team-{i % 10}", "chart": "app", "chart_version": "1.0.0",
                           "revision": 3, "workloads": [{"kind": "Deployment", "name": f"rel-{i}",
                                                         "replicas": per_release, "labels": {"app": f"rel-{i}"},
                                                         "pdb": {"max_unavailable": 1}}]}
                          for i in range(releases)],
    }


def count_http() -> Counter[str]:
    """Count every HTTP request by host:port (AWS and Kubernetes endpoints alike)."""
    import urllib3.connectionpool as cp

    counts: Counter[str] = Counter()
    original = cp.HTTPConnectionPool.urlopen

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        counts[f"{self.host}:{self.port}"] += 1
        return original(self, method, url, *args, **kwargs)

    cp.HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]
    return counts


def main(argv: list[str]) -> int:
    import yaml

    from eks_tfup.config import Settings
    from eks_tfup.preflight import run_preflight
    from eks_tfup.sandbox import control
    from eks_tfup.versions import Minor

    nodes, pods, releases = (int(a) for a in (argv + ["200", "10000", "100"][len(argv):])[:3])
    with tempfile.TemporaryDirectory(prefix="bench-preflight-") as tmp:
        path = Path(tmp) / "bench-big.yaml"
        path.write_text(yaml.safe_dump(scenario(nodes, pods, releases), sort_keys=False), encoding="utf-8")
        t0 = time.monotonic()
        # Building 10,000 pods takes the sandbox longer than its default start-up wait.
        control.START_TIMEOUT = max(control.START_TIMEOUT, 600.0)
        info = control.up(str(path), Path(tmp) / "sandbox")
        print(f"sandbox up: {time.monotonic() - t0:.1f}s ({nodes} nodes, ~{pods} pods, {releases} Helm releases)")
        try:
            os.environ.update(info.env)
            os.environ["HOME"] = tmp  # kubectl and friends write nothing into the real $HOME
            counts = count_http()
            settings = Settings(tf_dir=Path(tmp), cluster="demo", region=info.region)
            for label in ("cold", "warm"):
                counts.clear()
                t0 = time.monotonic()
                report = run_preflight(settings, Minor(1, 29), use_terraform=False)
                wall = time.monotonic() - t0
                bad = sorted(r.id for r in report.results if r.status in ("fail", "error") and not r.suppressed)
                pods_seen = next((r.message for r in report.results if r.id == "WRK002"), "")
                print(f"preflight ({label}): {wall:.2f}s wall; API calls: AWS {report.aws_calls}, Kubernetes "
                      f"{report.kube_calls} (facade); HTTP requests {sum(counts.values())} "
                      f"({', '.join(f'{k}={v}' for k, v in sorted(counts.items()))})")
                print(f"  failing: {', '.join(bad) or 'none'}; {pods_seen}")
            print(f"target: < 5 s wall -> {'OK' if wall < 5 else 'SLOW'}")
        finally:
            control.down(Path(tmp) / "sandbox")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
