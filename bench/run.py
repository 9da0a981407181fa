"""`make bench`: every benchmark, one after the other, each printing its own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("CLI start-up (target: --help and input errors under 0.15 s)", ["bench_cli.py"]),
    ("hcl show over 1,000 .tf files (target: under 1 s)", ["bench_hcl.py"]),
    ("summarising a 5,000-resource plan (target: under 1 s)", ["bench_plan.py"]),
    ("chart render + removed-API scan of 50 releases (target: under 5 s beyond helm)", ["bench_charts.py"]),
    ("preflight on 200 nodes / 10,000 pods / 100 releases (target: under 5 s)", ["bench_preflight.py"]),
    ("bump end to end on the sandbox (target: own time under 10%)", ["bench_e2e.py"]),
]


def main() -> int:
    failed = []
    for title, argv in BENCHES:
        print(f"\n== {title}", flush=True)
        rc = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], check=False).returncode
        if rc:
            failed.append(argv[0])
    if failed:
        print(f"\nbenchmarks that did not complete: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
