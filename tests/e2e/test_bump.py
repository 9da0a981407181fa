"""`eks-tfup bump` end to end: sandbox + real Terraform + real helmfile/helm, the CLI in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, Env

STEPS = ["check", "refresh_charts", "edit_hcl", "plan", "review", "apply", "verify", "upgrade_charts", "report"]


def run_dirs(env: Env) -> list[Path]:
    return sorted((env.tf_dir / ".eks-tfup" / "runs").iterdir())


def journal(env: Env) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dirs(env)[-1] / "journal.json").read_text())
    return data


def helm_revisions(env: Env, release: str = "demo-app", namespace: str = "demo") -> int:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=env.info.env["KUBECONFIG"]))
    secrets = api.list_namespaced_secret(namespace, label_selector=f"owner=helm,name={release}").items
    return len(secrets)


def assert_upgraded(env: Env, version: str) -> None:
    eks = env.eks()
    cluster = eks.describe_cluster(name="demo")["cluster"]
    assert (cluster["version"], cluster["status"]) == (version, "ACTIVE")
    for ng in eks.list_nodegroups(clusterName="demo")["nodegroups"]:
        assert eks.describe_nodegroup(clusterName="demo", nodegroupName=ng)["nodegroup"]["version"] == version


def test_bump_upgrades_the_demo_cluster_through_all_nine_steps(
        sandbox_env: Callable[..., Env], cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28")
    before = env.tree()
    revisions_before = helm_revisions(env)
    result = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir))
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    assert_upgraded(env, "1.29")
    # Kubelets followed (node groups rolled) and the kube API reports the new version.
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=env.info.env["KUBECONFIG"])
    assert client.VersionApi(api_client).get_code().minor.rstrip("+") == "29"
    kubelets = {n.status.node_info.kubelet_version for n in client.CoreV1Api(api_client).list_node().items}
    assert kubelets and all(k.startswith("v1.29.") for k in kubelets), kubelets
    # Only the version literal changed in the user's files.
    after = env.tree()
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"terraform.tfvars"}
    assert after["terraform.tfvars"] == before["terraform.tfvars"].replace(b'"1.28"', b'"1.29"')
    # Every step ran and is journaled; the report exists in both forms.
    j = journal(env)
    assert j["status"] == "done"
    steps = j["steps"]
    assert isinstance(steps, dict) and all(steps[s]["status"] == "done" for s in STEPS)
    run_dir = run_dirs(env)[-1]
    report = json.loads((run_dir / "report.json").read_text())
    rows = {r["what"]: (r["before"], r["after"]) for r in report["changes"]}
    assert rows["control plane"] == ("1.28", "1.29")
    assert "control plane" in (run_dir / "report.md").read_text()
    assert (run_dir / "plan.tfplan").is_file() and (run_dir / "plan.json").is_file()
    # helmfile ran twice (refresh before, upgrade after): two more Helm revisions.
    assert helm_revisions(env) == revisions_before + 2
    assert "Plan:" in result.stdout


@pytest.mark.parametrize("scenario,version,code,fragment", [
    ("healthy-1.28", "1.30", 3, "1.28 -> 1.29 -> 1.30"),
    ("nodes-behind", "1.29", 3, "EKS005"),
])
def test_checks_refuse_before_anything_changes(sandbox_env: Callable[..., Env], cli: Callable[..., CliResult],
                                               scenario: str, version: str, code: int, fragment: str) -> None:
    env = sandbox_env(scenario, provisioned=False)
    before = env.tree()
    version_before = env.eks().describe_cluster(name="demo")["cluster"]["version"]
    result = cli("bump", version, "--yes", "--dir", str(env.tf_dir))
    assert result.exit_code == code, result.stdout[-2000:] + result.stderr
    assert fragment in result.stdout + result.stderr
    assert env.tree() == before
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == version_before


def test_drift_between_hcl_and_cluster_is_refused(sandbox_env: Callable[..., Env],
                                                  cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28", provisioned=False)
    tfvars = env.tf_dir / "terraform.tfvars"
    tfvars.write_bytes(tfvars.read_bytes().replace(b'"1.28"', b'"1.27"'))
    before = env.tree()
    result = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir))
    assert result.exit_code == 3
    assert "TF001" in result.stderr and "drifted" in result.stderr
    assert env.tree() == before


def test_busy_cluster_is_refused(sandbox_env: Callable[..., Env], cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28", provisioned=False, time_scale=5.0)
    env.eks().update_cluster_version(name="demo", version="1.29")  # someone else started an upgrade
    result = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir))
    assert result.exit_code == 3
    assert "update is in progress" in result.stdout + result.stderr


@pytest.mark.slow
def test_destroy_in_plan_is_refused_and_the_edit_reverted(sandbox_env: Callable[..., Env],
                                                          cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28")
    main_tf = env.tf_dir / "main.tf"
    text = main_tf.read_text()
    # Drop the "apps" node group from the configuration: the plan would delete it.
    start = text.index("    apps = {")
    end = text.index("    }\n", start) + len("    }\n")
    main_tf.write_text(text[:start] + text[end:])
    before = env.tree()
    result = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir))
    assert result.exit_code == 3, result.stdout[-2000:] + result.stderr
    assert "--allow-destroy" in result.stderr and "reverted" in result.stderr
    assert env.tree() == before
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.28"


@pytest.mark.slow
@pytest.mark.parametrize("stop_after", STEPS[:-1])
def test_a_run_stopped_at_each_step_boundary_resumes_to_the_end(
        sandbox_env: Callable[..., Env], cli: Callable[..., CliResult], stop_after: str) -> None:
    env = sandbox_env("healthy-1.28")
    first = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir), "--stop-after", stop_after)
    assert first.exit_code == 0, first.stdout[-2000:] + first.stderr
    j = journal(env)
    assert j["status"] == "paused"
    done = [s for s in STEPS if j["steps"].get(s, {}).get("status") == "done"]  # type: ignore[union-attr]
    assert done == STEPS[: STEPS.index(stop_after) + 1]
    second = cli("resume", "--yes", "--dir", str(env.tf_dir))
    assert second.exit_code == 0, second.stdout[-2000:] + second.stderr
    assert journal(env)["status"] == "done"
    assert_upgraded(env, "1.29")
    applies = second.stdout.count("Apply the saved plan") + first.stdout.count("Apply the saved plan")
    assert applies == 1, "the apply ran exactly once across the two invocations"


@pytest.mark.slow
def test_a_failing_chart_stops_the_run_and_resume_continues_once_fixed(
        sandbox_env: Callable[..., Env], cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28")
    template = env.tf_dir / "charts" / "demo-app" / "templates" / "service.yaml"
    good = template.read_text()
    template.write_text(good + "\n{{ .Values.nope.missing }}\n")  # nil pointer: helm refuses to render
    first = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir))
    assert first.exit_code == 1, first.stdout[-2000:] + first.stderr
    assert "helmfile" in first.stderr and "nil pointer" in first.stderr
    j = journal(env)
    steps = j["steps"]
    assert isinstance(steps, dict) and j["status"] == "failed"
    # The chart is rendered for the removed-API check before anything changes: it fails there.
    assert [name for name, rec in steps.items() if rec["status"] == "failed"] == ["check"]
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.28"
    template.write_text(good)
    second = cli("resume", "--yes", "--dir", str(env.tf_dir))
    assert second.exit_code == 0, second.stdout[-2000:] + second.stderr
    assert_upgraded(env, "1.29")


@pytest.mark.slow
def test_helmfile_failing_at_the_refresh_stops_the_run_and_resume_reruns_it(
        sandbox_env: Callable[..., Env], cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28")
    extra = env.tf_dir / "charts" / "demo-app" / "templates" / "widget.yaml"
    # Renders fine, but the cluster serves no such kind: `helmfile sync` fails.
    extra.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")
    first = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir))
    assert first.exit_code == 1, first.stdout[-2000:] + first.stderr
    assert "Widget" in first.stderr
    steps = journal(env)["steps"]
    assert isinstance(steps, dict) and steps["refresh_charts"]["status"] == "failed"
    assert "Widget" in steps["refresh_charts"]["error"]
    extra.unlink()
    second = cli("resume", "--yes", "--dir", str(env.tf_dir))
    assert second.exit_code == 0, second.stdout[-2000:] + second.stderr
    assert "Refresh the charts" in second.stdout  # the failed step ran again
    assert_upgraded(env, "1.29")


@pytest.mark.slow
def test_bump_with_the_users_own_terraform_binary(sandbox_env: Callable[..., Env],
                                                  cli: Callable[..., CliResult]) -> None:
    from tests.conftest import TOOLS

    binary = TOOLS / "terraform-1.0.3"
    env = sandbox_env("healthy-1.28", terraform_bin=str(binary))
    result = cli("bump", "1.29", "--yes", "--dir", str(env.tf_dir), "--terraform-bin", str(binary))
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    assert_upgraded(env, "1.29")
    log = next((env.tf_dir / ".eks-tfup" / "runs").glob("*/terraform.log")).read_text()
    assert str(binary) in log and "terraform_embedded" not in log


@pytest.mark.slow
def test_hops_upgrade_two_minors_as_two_complete_runs(sandbox_env: Callable[..., Env],
                                                      cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28")
    result = cli("bump", "1.30", "--yes", "--hops", "--dir", str(env.tf_dir))
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    assert "1.28 -> 1.29 -> 1.30" in result.stdout
    assert_upgraded(env, "1.30")
    runs = run_dirs(env)
    assert [json.loads((r / "journal.json").read_text())["target"] for r in runs] == ["1.29", "1.30"]
    assert all((r / "report.md").is_file() for r in runs)
    assert (env.tf_dir / "terraform.tfvars").read_text().startswith('cluster_version = "1.30"')
