"""`eks-tfup bump` against the sandbox: how much of the wall time is the tool's own.

Provisions examples/terraform at 1.28 into a fresh sandbox (not timed), then times a real
`eks-tfup bump 1.29 --yes` and compares it with the time the simulated AWS spent on updates (the
union of every update's [created, finished] interval, read from the sandbox's state). The target:
the tool's own time (wall minus simulated) under 10% of the total. The simulated durations are the
scenario's (a 30-minute control-plane update...) times the time scale.
Usage: python bench/bench_e2e.py [time_scale]   (default 0.1: a 3-minute control-plane update)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def main() -> int:
    from eks_tfup.sandbox import control
    from eks_tfup.sandbox.provision import provision

    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    tools = REPO / ".tools" / "bin"
    with tempfile.TemporaryDirectory(prefix="eks-tfup-bench-") as tmp:
        tf_dir = Path(tmp) / "terraform"
        shutil.copytree(REPO / "examples" / "terraform", tf_dir,
                        ignore=shutil.ignore_patterns(".terraform", ".eks-tfup", "terraform.tfstate*"))
        sb = Path(tmp) / "sandbox"
        t0 = time.perf_counter()
        info = control.up("healthy-1.28", sb, time_scale=scale, cluster_source="terraform")
        print(f"sandbox up                 {time.perf_counter() - t0:6.2f} s")
        try:
            env = {**os.environ, **info.env, "EKS_TFUP_HELMFILE_COMMANDS": "deps;sync",
                   "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}", "CHECKPOINT_DISABLE": "1"}
            os.environ.update({k: v for k, v in env.items() if k in info.env})
            t0 = time.perf_counter()
            provision(info, tf_dir)
            print(f"provision (terraform apply) {time.perf_counter() - t0:5.2f} s   (not counted)")
            with urllib.request.urlopen(info.aws_url + "/_sandbox/state", timeout=10) as resp:
                before = {u["id"] for u in json.loads(resp.read())["updates"]}
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "eks_tfup", "bump", "1.29", "--yes", "--dir", str(tf_dir)],
                                  env=env, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr, sep="\n")
                return 1
            with urllib.request.urlopen(info.aws_url + "/_sandbox/state", timeout=10) as resp:
                state = json.loads(resp.read())
            spans = [(float(u["createdAt"]), float(u["finishedAt"])) for u in state["updates"]
                     if u["id"] not in before and u.get("finishedAt")]
            simulated = union_seconds(spans)
            journal = json.loads(next((tf_dir / ".eks-tfup" / "runs").glob("*/journal.json")).read_text())
        finally:
            control.down(sb)
    own = wall - simulated
    print(f"bump wall time             {wall:6.2f} s")
    print(f"simulated AWS updates      {simulated:6.2f} s   ({len(spans)} updates, time scale {scale})")
    print(f"the tool's own time        {own:6.2f} s   = {100 * own / wall:4.1f}% of the total (target < 10%)")
    for name, rec in journal["steps"].items():
        print(f"  {name:15} {rec.get('seconds', 0):6.1f} s")
    print(f"AWS requests served by the sandbox during the run: {state.get('aws_requests')}")
    print(f"at real EKS durations (time scale 1) the same own time is {100 * own / (own + simulated / scale):.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
