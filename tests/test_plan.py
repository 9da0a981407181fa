"""Plan analysis, rendering, PR comment and fingerprint (eks_tfup.plan)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from eks_tfup import plan
from eks_tfup.errors import ExitCode, RefusedError, UsageError

FIXTURES = Path(__file__).parent / "plan_fixtures"
CLUSTER = "module.eks.aws_eks_cluster.this[0]"
SECRETS = ("hunter2-BEFORE-SECRET", "hunter2-AFTER-SECRET", "helm-SET-SECRET-OLD", "helm-SET-SECRET-NEW",
           "ssm-NEW-SECRET", "whole-OBJECT-SECRET-1", "whole-OBJECT-SECRET-2")
FP = {"schema": 1, "plan_sha256": "0" * 64, "cluster": "demo", "target": "1.29"}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def comment_for(summary: plan.PlanSummary, *, diff: str | None = None, limit: int = 60000,
                checks: list[dict[str, Any]] | None = None, fp: dict[str, Any] | None = None) -> str:
    diff_text = plan.render_diff_text(summary) if diff is None else diff
    return plan.render_comment(cluster="demo", from_version="1.28", to_version="1.29", checks=checks or [],
                               summary=summary, diff_text=diff_text, fingerprint=fp or FP, limit=limit)


def huge_plan(n: int) -> dict[str, Any]:
    """The cluster hop plus n-1 updates whose diffs are long (a policy document each)."""
    typical = load("upgrade_typical.json")
    cluster = next(rc for rc in typical["resource_changes"] if rc["type"] == "aws_eks_cluster")
    changes = [cluster]
    for i in range(1, n):
        doc = json.dumps({"Statement": [{"Effect": "Allow", "Action": [f"s3:Get{j}" for j in range(30)],
                                         "Resource": f"arn:aws:s3:::bucket-{i}/*"}]})
        changes.append({
            "address": f'module.iam.aws_iam_policy.this["p{i:05d}"]', "module_address": "module.iam",
            "mode": "managed", "type": "aws_iam_policy", "name": "this", "index": f"p{i:05d}",
            "change": {"actions": ["update"],
                       "before": {"id": f"p{i}", "policy": doc, "tags": {"n": str(i)}},
                       "after": {"id": f"p{i}", "policy": doc.replace("Get", "Put"),
                                 "tags": {"n": str(i + 1)}},
                       "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}},
        })
    return {**typical, "resource_changes": changes}


# --- analyse: the typical one-minor plan ------------------------------------------------------------


def test_typical_plan_is_accepted_and_classified() -> None:
    s = plan.analyse(load("upgrade_typical.json"), target="1.29")
    assert s.refusals == ()
    plan.enforce(s)  # does not raise
    assert s.version_change == plan.VersionChange(CLUSTER, "1.28", "1.29")
    assert s.cluster_address == CLUSTER
    assert (s.counts.add, s.counts.change, s.counts.destroy, s.counts.read) == (1, 6, 1, 1)
    assert s.terraform_version == "1.9.8" and s.format_version == "1.2"
    assert [c.category for c in s.changes] == ["cluster", "node_group", "node_group", "addon", "addon",
                                               "addon", "other"]
    by_addr = {c.address: c for c in s.changes}
    # no-op resources (IAM role, launch template) and the data source read are not listed.
    assert "module.eks.aws_iam_role.this[0]" not in by_addr
    assert not any(c.type == "aws_launch_template" for c in s.changes)
    ng = by_addr['module.eks.module.eks_managed_node_group["default"].aws_eks_node_group.this[0]']
    assert ng.attrs == (plan.AttrChange("release_version", '"1.28.5-20240227"', plan.UNKNOWN),
                        plan.AttrChange("version", '"1.28"', '"1.29"'))
    coredns = by_addr['module.eks.aws_eks_addon.this["coredns"]']
    assert coredns.attrs == (
        plan.AttrChange("addon_version", '"v1.10.1-eksbuild.7"', '"v1.11.1-eksbuild.4"'),)
    sleep = by_addr["module.eks.time_sleep.this[0]"]
    assert sleep.action == "replace" and sleep.forces_replacement == ("triggers",)
    assert any("time_sleep" in w and "harmless" in w for w in s.warnings)
    assert by_addr[CLUSTER].attrs == (plan.AttrChange("version", '"1.28"', '"1.29"'),)


def test_renderings_put_the_version_change_first() -> None:
    s = plan.analyse(load("upgrade_typical.json"), target="1.29")
    assert plan.summary_line(s) == "Plan: 1 to add, 6 to change, 1 to destroy."
    table = plan.render_table(s).splitlines()
    assert table[0] == f"Cluster version: 1.28 -> 1.29 ({CLUSTER})"
    assert table[1] == "Plan: 1 to add, 6 to change, 1 to destroy."
    assert table[3].split()[:3] == ["ACTION", "CATEGORY", "ADDRESS"]
    assert table[4].split()[:3] == ["update", "cluster", CLUSTER]
    diff = plan.render_diff_text(s)
    assert diff.startswith(f"  # {CLUSTER} will be updated in-place\n"
                           '  ~ resource "aws_eks_cluster" "this" {\n'
                           '      ~ version = "1.28" -> "1.29"\n')
    assert '  -/+ resource "time_sleep" "this" {' in diff
    assert '~ triggers.cluster_version = "1.28" -> "1.29"  # forces replacement' in diff
    assert diff.rstrip().endswith("Plan: 1 to add, 6 to change, 1 to destroy.")


def test_cluster_address_selects_by_module_or_resource() -> None:
    data = load("upgrade_typical.json")
    assert plan.analyse(data, target="1.29", cluster_address="module.eks").refusals == ()
    assert plan.analyse(data, target="1.29", cluster_address=CLUSTER).refusals == ()
    # A prefix is matched on address boundaries only: module.ek is not module.eks.
    for wrong in ("module.ek", "aws_eks_cluster.this"):
        s = plan.analyse(data, target="1.29", cluster_address=wrong)
        assert s.version_change is None
        assert s.refusals == (f"no aws_eks_cluster resource under {wrong} in the plan: "
                              "the version change is missing",)


def test_several_clusters() -> None:
    data = load("upgrade_typical.json")
    cluster = data["resource_changes"][0]
    other = copy.deepcopy(cluster)
    other["address"] = "module.other.aws_eks_cluster.this[0]"
    other["change"]["actions"] = ["no-op"]
    other["change"]["after"]["version"] = "1.28"
    s = plan.analyse({**data, "resource_changes": [*data["resource_changes"], other]}, target="1.29")
    assert s.refusals == () and s.version_change is not None and s.version_change.address == CLUSTER
    assert any("2 aws_eks_cluster resources" in w for w in s.warnings)

    both = copy.deepcopy(other)
    both["change"]["actions"] = ["update"]
    both["change"]["after"]["version"] = "1.29"
    two = {**data, "resource_changes": [*data["resource_changes"], both]}
    s = plan.analyse(two, target="1.29")
    assert s.version_change is None
    assert any("give the cluster's address" in r for r in s.refusals)
    # Naming one is not enough when the other cluster changes version too.
    s = plan.analyse(two, target="1.29", cluster_address="module.eks")
    assert s.version_change is not None
    assert s.refusals == ("another cluster changes version in the same plan: "
                          "module.other.aws_eks_cluster.this[0] (upgrade one cluster at a time)",)


# --- analyse: refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("allow_destroy", [False, True])
def test_cluster_delete_is_always_refused(allow_destroy: bool) -> None:
    s = plan.analyse(load("cluster_delete.json"), target="1.29", allow_destroy=allow_destroy)
    assert s.version_change is None
    assert s.refusals == (f"the EKS cluster {CLUSTER} would be destroyed (delete_because_no_module): "
                          "never apply this plan",)
    assert s.counts.destroy == 2 and s.counts.add == 1
    with pytest.raises(RefusedError) as err:
        plan.enforce(s)
    assert err.value.exit_code == ExitCode.REFUSED
    assert "would be destroyed" in str(err.value)
    # The deleted cluster is still listed, with what it loses.
    deleted = s.changes[0]
    assert deleted.action == "delete" and plan.AttrChange("version", '"1.28"', None) in deleted.attrs
    assert '  - resource "aws_eks_cluster" "this" {' in plan.render_diff_text(s)


@pytest.mark.parametrize("allow_destroy", [False, True])
def test_cluster_replace_is_always_refused(allow_destroy: bool) -> None:
    s = plan.analyse(load("cluster_replace.json"), target="1.29", allow_destroy=allow_destroy)
    assert len(s.refusals) == 1
    assert s.refusals[0].startswith(f"the EKS cluster {CLUSTER} would be replaced "
                                    "(replace_because_cannot_update) [forced by: vpc_config[0].subnet_ids]")
    # The version it would reach is still shown, next to the refusal.
    assert s.version_change == plan.VersionChange(CLUSTER, "1.28", "1.29")
    assert s.counts.add == 2 and s.counts.destroy == 2
    diff = plan.render_diff_text(s)
    assert '  -/+ resource "aws_eks_cluster" "this" {' in diff
    assert re.search(r"~ vpc_config\[0\]\.subnet_ids = .* # forces replacement", diff)
    with pytest.raises(RefusedError):
        plan.enforce(s)


def test_other_delete_needs_allow_destroy() -> None:
    data = load("sg_delete.json")
    s = plan.analyse(data, target="1.29")
    assert s.refusals == ("1 resource(s) would be destroyed or replaced: aws_security_group.bastion "
                          "(delete, delete_because_no_resource_config); allow destroy explicitly "
                          "(--allow-destroy) if this is intended",)
    allowed = plan.analyse(data, target="1.29", allow_destroy=True)
    assert allowed.refusals == ()
    assert any("aws_security_group.bastion" in w and "(allowed)" in w for w in allowed.warnings)
    plan.enforce(allowed)


def test_many_deletes_make_one_bounded_message() -> None:
    data = load("sg_delete.json")
    sg = data["resource_changes"][-1]
    extra = []
    for i in range(30):
        item = copy.deepcopy(sg)
        item["address"] = f"aws_security_group.extra_{i:02d}"
        extra.append(item)
    s = plan.analyse({**data, "resource_changes": [*data["resource_changes"], *extra]}, target="1.29")
    assert len(s.refusals) == 1
    assert s.refusals[0].startswith("31 resource(s) would be destroyed or replaced:")
    assert "and 21 more" in s.refusals[0]


def test_no_version_change_is_refused() -> None:
    s = plan.analyse(load("no_version_change.json"), target="1.29")
    assert s.version_change is None
    assert s.refusals == (f"the plan does not change the version of {CLUSTER} "
                          "(stays 1.28; expected 1.28 -> 1.29)",)
    assert plan.render_table(s).splitlines()[0] == "Cluster version: no change found (target 1.29)"


def test_wrong_target_is_refused() -> None:
    s = plan.analyse(load("upgrade_typical.json"), target="1.30")
    assert s.version_change == plan.VersionChange(CLUSTER, "1.28", "1.29")
    assert f"the plan changes {CLUSTER} to 1.29, but the target is 1.30" in s.refusals
    with pytest.raises(RefusedError):
        plan.enforce(s)


def test_skipping_a_minor_is_refused() -> None:
    data = load("upgrade_typical.json")
    data["resource_changes"][0]["change"]["before"]["version"] = "1.27"
    s = plan.analyse(data, target="1.29")
    assert s.refusals == (f"{CLUSTER} would go 1.27 -> 1.29: EKS upgrades one minor at a time",)


def test_already_at_target_and_unknown_version() -> None:
    data = load("no_version_change.json")
    rc = data["resource_changes"][0]["change"]
    rc["before"]["version"] = rc["after"]["version"] = "1.29"
    s = plan.analyse(data, target="1.29")
    assert s.refusals == (f"{CLUSTER} is already at 1.29: the plan has no version change to apply",)

    data = load("upgrade_typical.json")
    ch = data["resource_changes"][0]["change"]
    del ch["after"]["version"]
    ch["after_unknown"]["version"] = True
    s = plan.analyse(data, target="1.29")
    assert s.refusals == (f"the version of {CLUSTER} is only known after apply: expected 1.29",)


def test_bad_target_and_not_a_plan() -> None:
    with pytest.raises(UsageError):
        plan.analyse(load("upgrade_typical.json"), target="v1.29")
    state_json = {"format_version": "1.0", "values": {"root_module": {}}}
    s = plan.analyse(state_json, target="1.29")
    assert s.refusals[0].startswith("this is not the JSON of a Terraform plan")
    s = plan.analyse({**load("upgrade_typical.json"), "format_version": "2.0"}, target="1.29")
    assert "unsupported plan JSON format_version 2.0 (this tool reads 0.x and 1.x)" in s.refusals
    s = plan.analyse({**load("upgrade_typical.json"), "errored": True}, target="1.29")
    assert "Terraform reported errors while planning: the plan is incomplete" in s.refusals


def test_drift_and_extra_cluster_changes_are_warnings() -> None:
    data = load("upgrade_typical.json")
    data["resource_drift"] = [{"address": "module.eks.aws_eks_addon.this[\"coredns\"]", "change": {}}]
    data["resource_changes"][0]["change"]["after"]["enabled_cluster_log_types"] = ["api"]
    s = plan.analyse(data, target="1.29")
    assert s.refusals == ()
    assert s.drift == ('module.eks.aws_eks_addon.this["coredns"]',)
    assert any(w.startswith("1 resource(s) changed outside Terraform") for w in s.warnings)
    assert "the cluster update also changes: enabled_cluster_log_types" in s.warnings


# --- sensitive values ------------------------------------------------------------------------------


def test_sensitive_values_never_rendered() -> None:
    data = load("sensitive.json")
    # The fixture really carries the secrets (as Terraform's JSON does), so the test can fail.
    raw = json.dumps(data)
    assert all(secret in raw for secret in SECRETS)
    s = plan.analyse(data, target="1.29")
    assert s.refusals == ()
    diff = plan.render_diff_text(s)
    outputs = {"summary": repr(s), "table": plan.render_table(s), "diff": diff,
               "comment": comment_for(s, diff=diff)}
    for name, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into the {name}"
    assert '~ secret_string  = (sensitive) -> (sensitive)' in diff
    assert "~ set_sensitive[0].value = (sensitive) -> (sensitive)" in diff
    assert '+ value    = (sensitive)' in diff
    assert "+ id       = (known after apply)" in diff
    assert '~ version                = "1.7.1" -> "1.8.1"' in diff  # the rest of a masked resource shows


# --- PR comment ------------------------------------------------------------------------------------


def test_comment_layout() -> None:
    s = plan.analyse(load("upgrade_typical.json"), target="1.29")
    checks = [{"id": "nodes.skew", "level": "error", "status": "pass", "message": "kubelets within skew"},
              {"id": "apis.removed", "level": "warn", "status": "fail",
               "message": "uses a|b <!-- not a comment"}]
    text = comment_for(s, checks=checks)
    lines = text.splitlines()
    assert lines[0].startswith("<!-- eks-tfup {") and lines[0].endswith("} -->")
    assert lines[1] == "## eks-tfup: upgrade demo 1.28 → 1.29"
    assert f"**Cluster version:** 1.28 → 1.29 (`{CLUSTER}`)" in lines
    assert "**Plan: 1 to add, 6 to change, 1 to destroy.**" in lines
    assert "| nodes.skew | error | pass | kubelets within skew |" in lines
    # A message cannot break the table or open an HTML comment that hides the rest.
    assert "| apis.removed | warn | fail | uses a\\|b &lt;!-- not a comment |" in lines
    table_start = lines.index("| action | resource | category | changes |")
    assert lines[table_start + 2].startswith(f"| update | `{CLUSTER}` | cluster |")
    assert "<details><summary>Terraform plan</summary>" in lines
    assert "```diff" in lines
    assert text.index("### Checks") < text.index("### Changes") < text.index("<details>")
    assert "! ~ resource \"aws_eks_cluster\" \"this\" {" in text  # coloured by the diff highlighter
    assert "_No checks ran._" in comment_for(s)


def test_refusals_are_shown_in_the_comment() -> None:
    s = plan.analyse(load("cluster_delete.json"), target="1.29")
    text = comment_for(s)
    assert ":no_entry: **Refused** (1): this plan will not be applied." in text
    assert "**Cluster version:** no change found in the plan (target 1.29)" in text


def test_huge_plan_comment_stays_under_the_limit() -> None:
    data = huge_plan(5000)
    start = time.perf_counter()
    s = plan.analyse(data, target="1.29")
    elapsed = time.perf_counter() - start
    # The bench measures ~0.4 s; a generous bound still catches quadratic work (minutes).
    assert elapsed < 5, f"analyse took {elapsed:.1f} s for 5,000 changes"
    diff = plan.render_diff_text(s)
    assert len(diff) > 1_000_000
    with pytest.raises(ValueError):
        comment_for(s, diff=diff, limit=300)
    small = comment_for(s, diff=diff, limit=1500)
    assert len(small) < 1500 and plan.parse_marker(small) == FP and "Plan: 0 to add" in small
    for limit in (60000, 20000, 3000):
        text = comment_for(s, diff=diff, limit=limit)
        assert len(text) < limit
        assert "**Plan: 0 to add, 5000 to change, 0 to destroy.**" in text
        assert f"**Cluster version:** 1.28 → 1.29 (`{CLUSTER}`)" in text
        assert plan.parse_marker(text) == FP
        assert re.search(r"^\.\.\. \d+ lines \(\d+ characters\) cut from the middle; the full plan is in the "
                         r"plan artifact \.\.\.$", text, re.M)
        # Head (the cluster) and tail (Terraform's summary line) of the diff survive the cut.
        body = text.split("```diff\n", 1)[1]
        assert body.startswith(f"  # {CLUSTER} will be updated in-place\n")
        assert body.split("\n```", 1)[0].endswith("Plan: 0 to add, 5000 to change, 0 to destroy.")
        assert "more change(s) in the plan below" in text


def test_cut_reports_what_it_removed() -> None:
    s = plan.analyse(load("upgrade_typical.json"), target="1.29")
    diff = "".join(f"line {i:05d} {'x' * 50}\n" for i in range(2000))
    text = comment_for(s, diff=diff, limit=30000)
    assert len(text) < 30000
    body = text.split("```diff\n", 1)[1].split("\n```", 1)[0].splitlines()
    notice = next(line for line in body if "cut from the middle" in line)
    m = re.match(r"\.\.\. (\d+) lines \((\d+) characters\)", notice)
    assert m is not None
    kept = [line for line in body if line.startswith("line ")]
    assert kept[0].startswith("line 00000") and kept[-1].startswith("line 01999")
    assert int(m.group(1)) + len(kept) == 2000
    assert int(m.group(2)) == (2000 - len(kept)) * len("line 00000 " + "x" * 50 + "\n")
    # Whole lines only: every kept line is intact.
    assert all(len(line) == len("line 00000 ") + 50 for line in kept)


def test_comment_fence_and_colours_are_safe() -> None:
    s = plan.analyse(load("upgrade_typical.json"), target="1.29")
    diff = "\x1b[1m  ~ resource\x1b[0m\n  content = <<EOT\n```\nEOT\n"
    text = comment_for(s, diff=diff)
    assert "\x1b" not in text
    assert "````diff\n" in text and "\n````\n" in text  # a fence longer than any run inside


# --- marker ----------------------------------------------------------------------------------------


def test_marker_round_trip_and_escaping() -> None:
    fp = {"plan_sha256": "a" * 64, "cluster": "evil-->name<!--x", "dashes": "a---b----c", "n": -1,
          "unicode": "é→", "nl": "a\nb", "none": None}
    text = comment_for(plan.analyse(load("upgrade_typical.json"), target="1.29"), fp=fp)
    first = text.split("\n", 1)[0]
    inner = first[len("<!--"):-len("-->")]
    assert "--" not in inner and ">" not in inner and "<" not in inner
    assert plan.parse_marker(text) == fp


@pytest.mark.parametrize("comment", [
    "", "hello", "## eks-tfup\n<!-- eks-tfup {\"a\":1} -->",  # not on the first line
    "<!-- eks-tfup {not json} -->", "<!-- eks-tfup [1,2] -->", "<!-- other {\"a\":1} -->",
])
def test_parse_marker_rejects_others(comment: str) -> None:
    assert plan.parse_marker(comment) is None


# --- fingerprint -----------------------------------------------------------------------------------


def test_fingerprint(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.tfplan"
    plan_file.write_bytes(b"PK\x03\x04 not really a zip")
    data = load("upgrade_typical.json")
    fp = plan.fingerprint(plan_path=plan_file, plan_json=data, git_commit="c" * 40, tree_hash="t" * 40,
                          terraform_version="1.9.8", planned_from="1.28", cluster="demo", target="1.29")
    assert fp["plan_sha256"] == hashlib.sha256(plan_file.read_bytes()).hexdigest()
    assert fp["changes_sha256"] == plan.normalised_changes_digest(data)
    assert {k: fp[k] for k in ("git_commit", "tree_hash", "terraform_version", "planned_from", "cluster",
                               "target")} == {"git_commit": "c" * 40, "tree_hash": "t" * 40,
                                              "terraform_version": "1.9.8", "planned_from": "1.28",
                                              "cluster": "demo", "target": "1.29"}
    assert json.loads(json.dumps(fp)) == fp


def test_changes_digest_is_stable_and_sensitive_to_changes() -> None:
    data = load("upgrade_typical.json")
    digest = plan.normalised_changes_digest(data)
    # Same plan shown again: other order, other key order, other timestamp and variables.
    shuffled = json.loads(json.dumps(data, sort_keys=True))
    shuffled["resource_changes"].reverse()
    shuffled["timestamp"] = "2030-01-01T00:00:00Z"
    shuffled["variables"] = {}
    shuffled["resource_changes"][0]["change"]["after_unknown"] = {"x": True}
    assert plan.normalised_changes_digest(shuffled) == digest
    changed = copy.deepcopy(data)
    changed["resource_changes"][0]["change"]["after"]["version"] = "1.30"
    assert plan.normalised_changes_digest(changed) != digest
    changed = copy.deepcopy(data)
    changed["resource_changes"][2]["change"]["actions"] = ["update"]
    assert plan.normalised_changes_digest(changed) != digest


# --- a real plan from the embedded Terraform -------------------------------------------------------


def test_real_terraform_plan_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the project's runner (a child process): loading the Go runtime into the test process
    # would change how it handles signals for every later test.
    from eks_tfup.terraform import Terraform

    rc_file = tmp_path / "terraformrc"
    rc_file.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(rc_file))
    workdir = tmp_path / "tf"
    workdir.mkdir()
    (workdir / "main.tf").write_text("""
variable "token" {
  type      = string
  default   = "real-TF-SECRET-value"
  sensitive = true
}
resource "terraform_data" "version" {
  input = "1.29"
}
resource "terraform_data" "secret" {
  input = { token = var.token, name = "demo" }
}
""")
    tf = Terraform(workdir)
    tf.init()
    tf.plan(out=workdir / "plan.tfplan")
    data = tf.show_json(workdir / "plan.tfplan")
    s = plan.analyse(data, target="1.29")
    assert s.refusals == ("no aws_eks_cluster resource in the plan: the version change is missing",)
    assert (s.counts.add, s.counts.change, s.counts.destroy) == (2, 0, 0)
    assert s.terraform_version is not None and s.terraform_version.startswith("1.")
    diff = plan.render_diff_text(s)
    assert '+ input  = { name = "demo", token = (sensitive) }' in diff
    assert "+ id     = (known after apply)" in diff
    assert "real-TF-SECRET-value" in json.dumps(data)
    for text in (diff, plan.render_table(s), comment_for(s, diff=diff)):
        assert "real-TF-SECRET-value" not in text
    fp = plan.fingerprint(plan_path=workdir / "plan.tfplan", plan_json=data, git_commit=None, tree_hash=None,
                          terraform_version=str(s.terraform_version), planned_from="1.28", cluster="demo",
                          target="1.29")
    assert fp["changes_sha256"] == plan.normalised_changes_digest(
        tf.show_json(workdir / "plan.tfplan"))  # the same plan shown twice


def test_completing_plan_accepts_a_cluster_already_on_the_target() -> None:
    data = json.loads((FIXTURES / "upgrade_typical.json").read_text())
    for rc in data["resource_changes"]:
        if rc["type"] == "aws_eks_cluster":
            rc["change"]["before"]["version"] = "1.29"
            rc["change"]["after"]["version"] = "1.29"
            rc["change"]["actions"] = ["no-op"]
    refused = plan.analyse(data, target="1.29")
    assert any("already at 1.29" in r for r in refused.refusals)
    completing = plan.analyse(data, target="1.29", completing=True)
    assert not completing.refusals
    assert any("completes the rest" in w for w in completing.warnings)
