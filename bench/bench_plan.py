"""Time plan analysis and rendering on a generated 5,000-resource plan.

    python bench/bench_plan.py [N]

Prints the timings; no assertions (the budget is under 1 s for `analyse` on 5,000 changes).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run from a checkout without installing: the package is next to this directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from eks_tfup import plan


def generate(n: int) -> dict[str, Any]:
    """A plan shaped like `terraform show -json`: one cluster hop and n-1 resources with long diffs."""
    changes: list[dict[str, Any]] = [{
        "address": "module.eks.aws_eks_cluster.this[0]", "module_address": "module.eks", "mode": "managed",
        "type": "aws_eks_cluster", "name": "this", "index": 0,
        "change": {"actions": ["update"], "before": {"name": "demo", "version": "1.28"},
                   "after": {"name": "demo", "version": "1.29"}, "after_unknown": {},
                   "before_sensitive": {}, "after_sensitive": {}},
    }]
    kinds = ("aws_eks_node_group", "aws_eks_addon", "aws_launch_template", "aws_iam_policy",
             "aws_ssm_parameter")
    for i in range(1, n):
        kind = kinds[i % len(kinds)]
        policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": [f"s3:Get{j}" for j in range(20)],
                                            "Resource": f"arn:aws:s3:::bucket-{i}/*"}]})
        before = {"id": f"id-{i}", "version": "1.28", "policy": policy, "secret": f"s-{i}",
                  "tags": {"Name": f"res-{i}", "Team": "platform"},
                  "block": [{"a": i, "b": "x" * 40, "nested": {"k": [1, 2, 3]}}]}
        after = {"id": f"id-{i}", "version": "1.29", "policy": policy.replace("Get", "Put"),
                 "secret": f"t-{i}",
                 "tags": {"Name": f"res-{i}", "Team": "platform", "Hop": "1.29"},
                 "block": [{"a": i + 1, "b": "y" * 40, "nested": {"k": [1, 2, 4]}}]}
        changes.append({
            "address": f'module.m{i % 50}.{kind}.this["r{i}"]', "module_address": f"module.m{i % 50}",
            "mode": "managed", "type": kind, "name": "this", "index": f"r{i}",
            "change": {"actions": ["update"], "before": before, "after": after,
                       "after_unknown": {"arn": True}, "before_sensitive": {"secret": True},
                       "after_sensitive": {"secret": True}},
        })
    return {"format_version": "1.2", "terraform_version": "1.15.5", "resource_changes": changes,
            "planned_values": {}, "applyable": True, "complete": True, "errored": False}


def timed(label: str, fn: Any) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"{label:<28} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    data = generate(n)
    text = json.dumps(data)
    print(f"plan: {n} resource changes, {len(text) / 1e6:.1f} MB of JSON")
    parsed = timed("json.loads", lambda: json.loads(text))
    summary = timed("analyse", lambda: plan.analyse(parsed, target="1.29"))
    timed("render_table", lambda: plan.render_table(summary))
    diff = timed("render_diff_text", lambda: plan.render_diff_text(summary))
    timed("normalised_changes_digest", lambda: plan.normalised_changes_digest(parsed))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.tfplan"
        path.write_bytes(text.encode())
        fp = plan.fingerprint(plan_path=path, plan_json=parsed, git_commit=None, tree_hash=None,
                              terraform_version="1.15.5", planned_from="1.28", cluster="demo", target="1.29")
    comment = timed("render_comment", lambda: plan.render_comment(
        cluster="demo", from_version="1.28", to_version="1.29", checks=[], summary=summary,
        diff_text=diff, fingerprint=fp))
    print(f"diff {len(diff):,} characters -> comment {len(comment):,} characters")


if __name__ == "__main__":
    main()
