"""Time `hcl show` (locate_version) over a generated configuration of 1,000 .tf files with one cluster.

Run: python bench/bench_hcl.py [--files N]. Prints timings; asserts nothing. The target is under one
second for the whole command, imports included, which the cold run measures in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FILLER = '''# Service {i}: storage and access for team {i}.
variable "retention_days_{i}" {{
  type        = number
  default     = {i}
  description = "How long service {i} keeps its objects"
}}

locals {{
  name_{i} = "svc-{i}-${{var.environment}}"
  tags_{i} = merge(var.tags, {{ service = "svc-{i}" }})
}}

resource "aws_s3_bucket" "svc_{i}" {{
  bucket = local.name_{i}
  tags   = local.tags_{i}
}}

resource "aws_iam_role" "svc_{i}" {{
  name = "svc-{i}"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "sts:AssumeRole", Principal = {{ Service = "ec2.amazonaws.com" }} }}]
  }})
}}

resource "aws_s3_bucket_lifecycle_configuration" "svc_{i}" {{
  bucket = aws_s3_bucket.svc_{i}.id
  rule {{
    id     = "expire"
    status = "Enabled"
    expiration {{
      days = var.retention_days_{i}
    }}
  }}
}}
'''

NETWORK = '''module "vpc_{i}" {{
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.0"
  name    = "vpc-{i}"
  cidr    = "10.{i}.0.0/16"
}}
'''

NODES = '''data "aws_eks_cluster" "this_{i}" {{
  name = module.eks.cluster_name
}}

resource "aws_eks_node_group" "extra_{i}" {{
  cluster_name = module.eks.cluster_name
  version      = var.cluster_version
}}
'''

ROOT = '''module "eks" {
  source          = "terraform-aws-modules/eks/aws"
  version         = "~> 20.0"
  cluster_name    = "demo"
  cluster_version = var.cluster_version # bumped by eks-tfup
}

variable "cluster_version" {
  type = string
}

variable "environment" {
  type    = string
  default = "prod"
}

variable "tags" {
  type    = map(string)
  default = {}
}
'''


def generate(root: Path, count: int) -> None:
    (root / "main.tf").write_text(ROOT)
    (root / "terraform.tfvars").write_text('environment     = "prod"\ncluster_version = "1.28"\n')
    for i in range(1, count):
        text = FILLER.format(i=i)
        if i % 50 == 0:
            text += NETWORK.format(i=i % 250)
        if i % 100 == 0:
            text += NODES.format(i=i)
        (root / f"svc_{i:04d}.tf").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-hcl-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        generate(root, args.files)
        size = sum(p.stat().st_size for p in root.iterdir())
        print(f"generated {args.files} .tf files ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.2f} s")

        # Cold: a fresh interpreter, as `eks-tfup hcl show` runs (imports and parser build included).
        code = ("import sys, time; t = time.perf_counter(); from pathlib import Path; "
                "from eks_tfup.hcl import locate_version; "
                f"loc = locate_version(Path({str(root)!r})); "
                "print(f'{time.perf_counter() - t:.3f} {loc.value} {len(loc.warnings)}')")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        inner, value, warnings = out.stdout.split()
        print(f"cold locate_version: {float(inner):.3f} s in-process, {wall:.3f} s for the whole interpreter "
              f"(value {value}, {warnings} warnings)")

        from eks_tfup.hcl import locate_version, set_version

        locate_version(root)  # warm the imports and the parser
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            locate_version(root)
            times.append(time.perf_counter() - t0)
        print(f"warm locate_version: best {min(times):.3f} s, worst {max(times):.3f} s over {args.repeat}")

        t0 = time.perf_counter()
        result = set_version(root, "1.29")
        print(f"set_version (locate, check in memory, write, read back): {time.perf_counter() - t0:.3f} s "
              f"-> {result.changed_files[0].name} {result.old} -> {result.new}")

        # For comparison: what parsing every file would cost, extrapolated from a sample.
        from hcl2.api import parses_to_tree

        sample = sorted(root.glob("svc_*.tf"))[:50]
        t0 = time.perf_counter()
        for path in sample:
            parses_to_tree(path.read_text())
        per_file = (time.perf_counter() - t0) / len(sample)
        print(f"for comparison, parsing every file: {per_file * 1000:.1f} ms per file, "
              f"~{per_file * args.files:.1f} s for {args.files} files")


if __name__ == "__main__":
    main()
