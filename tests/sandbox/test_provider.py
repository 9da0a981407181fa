"""The sandbox's Terraform `hashicorp/aws` provider, driven by real Terraform through the product runner.

Offline part: install, init (1.15 embedded and the 1.0.3 binary), schema and create plan of the
example configuration. Sandbox part (needs eks_tfup.sandbox.control): create at 1.28, bump to 1.29
in place, a failed update as a Terraform error, a rename as a replacement, and import.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eks_tfup.errors import ProcessError
from eks_tfup.sandbox.provider import EXECUTABLE, install
from eks_tfup.sandbox.provider.resources import addon_version_key
from eks_tfup.terraform import Terraform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "terraform"
BINARY = ROOT / ".tools" / "bin" / "terraform-1.0.3"
CLUSTER = "module.eks.aws_eks_cluster.this"


def copy_example(dest: Path) -> Path:
    work = dest / "tf"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfplan"))
    return work


def actions(shown: dict[str, Any]) -> dict[str, list[str]]:
    return {c["address"]: c["change"]["actions"] for c in shown.get("resource_changes", [])}


def test_install_writes_executable_and_cli_config(tmp_path: Path) -> None:
    rc = install(tmp_path)
    exe = tmp_path / "provider" / EXECUTABLE
    assert rc == tmp_path / "terraformrc"
    assert os.access(exe, os.X_OK)
    text = rc.read_text()
    assert f'"hashicorp/aws" = "{tmp_path / "provider"}"' in text
    assert "dev_overrides" in text and "filesystem_mirror" in text


def test_addon_versions_sort_numerically() -> None:
    versions = ["v1.9.0-eksbuild.3", "v1.16.0-eksbuild.1", "v1.16.0-eksbuild.10", "v1.16.0-eksbuild.2"]
    assert max(versions, key=addon_version_key) == "v1.16.0-eksbuild.10"


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    # No AWS endpoint is needed to plan a create: nothing exists yet and the data sources wait for
    # the cluster. Dummy credentials keep boto3 from looking further.
    return {"TF_CLI_CONFIG_FILE": str(install(tmp_path / "sbx")), "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded", "binary"])
def test_example_inits_offline_and_plans_create(backend: str, tmp_path: Path,
                                               offline_env: dict[str, str]) -> None:
    if backend == "binary" and not BINARY.is_file():
        pytest.fail("the Terraform 1.0.3 binary is missing: run `make tools` (scripts/fetch_terraform_binary.py)")
    work = copy_example(tmp_path)
    tf = Terraform(work, binary=str(BINARY) if backend == "binary" else None, env=offline_env,
                   log_path=tmp_path / "tf.log")
    assert tf.init()
    plan = tf.plan(out=work / "create.tfplan")
    assert plan.has_changes
    shown = tf.show_json(plan.plan_path)
    acts = actions(shown)
    assert acts[CLUSTER] == ["create"]
    assert acts['module.eks.aws_eks_node_group.this["system"]'] == ["create"]
    assert acts['module.eks.aws_eks_addon.this["coredns"]'] == ["create"]
    cluster = next(c for c in shown["resource_changes"] if c["address"] == CLUSTER)
    after = cluster["change"]["after"]
    assert after["version"] == "1.28"
    assert after["vpc_config"][0]["subnet_ids"] == [
        "subnet-0a1b2c3d4e5f60101", "subnet-0a1b2c3d4e5f60102", "subnet-0a1b2c3d4e5f60103"]
    assert after["tags_all"] == {"Environment": "demo", "ManagedBy": "terraform"}


# ---------------------------------------------------------------------------------------------
# Against the sandbox's AWS endpoint


TIME_SCALE = 0.002  # simulated minutes become milliseconds


def start(aws_sandbox: Callable[..., Any], tmp_path: Path, **kwargs: Any) -> dict[str, str]:
    """The sandbox's AWS endpoint (the real EKS implementation, served over HTTP from this process)
    plus the provider shim; Terraform runs as a child process and reaches both like the real thing."""
    kwargs.setdefault("cluster_source", "terraform")
    inproc = aws_sandbox("healthy-1.28", time_scale=TIME_SCALE, **kwargs)
    return {**inproc.env, "TF_CLI_CONFIG_FILE": str(install(tmp_path / "shim"))}


@pytest.fixture
def sandbox_env(aws_sandbox: Callable[..., Any], tmp_path: Path) -> dict[str, str]:
    return start(aws_sandbox, tmp_path)


def eks(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client("eks", region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
                        endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def set_version(work: Path, version: str) -> None:
    (work / "terraform.tfvars").write_text(f'cluster_version = "{version}"\n')


def region_vars(env: dict[str, str]) -> dict[str, str]:
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    return {"region": region} if region else {}


@pytest.mark.slow
def test_create_then_upgrade_in_place(tmp_path: Path, sandbox_env: dict[str, str]) -> None:
    work = copy_example(tmp_path)
    tf = Terraform(work, env=sandbox_env, log_path=tmp_path / "tf.log")
    tf.init()
    tf.apply(tf.plan(out=work / "create.tfplan", vars=region_vars(sandbox_env)).plan_path)
    client = eks(sandbox_env)
    assert client.describe_cluster(name="demo")["cluster"]["version"] == "1.28"
    assert tf.output_json()["cluster_version"] == "1.28"
    assert not tf.plan(out=work / "noop.tfplan", vars=region_vars(sandbox_env)).has_changes

    set_version(work, "1.29")
    plan = tf.plan(out=work / "bump.tfplan", vars=region_vars(sandbox_env))
    assert re.search(r'~ version\s+= "1\.28" -> "1\.29"', plan.output)
    acts = actions(tf.show_json(plan.plan_path))
    assert acts[CLUSTER] == ["update"]
    assert acts['module.eks.aws_eks_node_group.this["apps"]'] == ["update"]
    assert acts['module.eks.aws_eks_addon.this["vpc-cni"]'] == ["update"]
    tf.apply(plan.plan_path)
    assert client.describe_cluster(name="demo")["cluster"]["version"] == "1.29"
    assert client.describe_nodegroup(clusterName="demo", nodegroupName="apps")["nodegroup"]["version"] == "1.29"
    assert not tf.plan(out=work / "after.tfplan", vars=region_vars(sandbox_env)).has_changes


@pytest.mark.slow
def test_rename_plans_a_replacement(tmp_path: Path, sandbox_env: dict[str, str]) -> None:
    work = copy_example(tmp_path)
    tf = Terraform(work, env=sandbox_env)
    tf.init()
    tf.apply(tf.plan(out=work / "create.tfplan", vars=region_vars(sandbox_env)).plan_path)
    plan = tf.plan(out=work / "rename.tfplan", vars={**region_vars(sandbox_env), "cluster_name": "demo2"})
    assert actions(tf.show_json(plan.plan_path))[CLUSTER] == ["delete", "create"]
    assert "must be replaced" in plan.output


@pytest.mark.slow
def test_failed_update_is_a_terraform_error(tmp_path: Path, aws_sandbox: Callable[..., Any]) -> None:
    env = start(aws_sandbox, tmp_path, faults={"fail.cluster": "InsufficientFreeAddresses"})
    work = copy_example(tmp_path)
    tf = Terraform(work, env=env)
    tf.init()
    tf.apply(tf.plan(out=work / "create.tfplan", vars=region_vars(env)).plan_path)
    set_version(work, "1.29")
    plan = tf.plan(out=work / "bump.tfplan", vars=region_vars(env))
    with pytest.raises(ProcessError, match="unexpected state 'Failed'") as caught:
        tf.apply(plan.plan_path)
    assert "InsufficientFreeAddresses" in caught.value.tail
    assert eks(env).describe_cluster(name="demo")["cluster"]["version"] == "1.28"


@pytest.mark.slow
def test_import_adopts_existing_cluster(tmp_path: Path, aws_sandbox: Callable[..., Any]) -> None:
    # The scenario's own cluster exists before Terraform knows about it.
    env = start(aws_sandbox, tmp_path, cluster_source="scenario")
    work = copy_example(tmp_path)
    tf = Terraform(work, env=env)
    tf.init()
    tf.import_(CLUSTER, "demo", vars=region_vars(env))
    for ng in ("system", "apps"):
        tf.import_(f'module.eks.aws_eks_node_group.this["{ng}"]', f"demo:{ng}", vars=region_vars(env))
    tf.import_('module.eks.aws_eks_addon.this["kube-proxy"]', "demo:kube-proxy", vars=region_vars(env))
    with pytest.raises(ProcessError, match="Cannot import non-existent remote object"):
        tf.import_('module.eks.aws_eks_addon.this["coredns"]', "demo:nope", vars=region_vars(env))
    plan = tf.plan(out=work / "adopt.tfplan", vars=region_vars(env))
    acts = actions(tf.show_json(plan.plan_path))
    # Adopted, not replaced: at most in-place updates (tags, configuration-only attributes).
    for address in (CLUSTER, 'module.eks.aws_eks_node_group.this["apps"]',
                    'module.eks.aws_eks_addon.this["kube-proxy"]'):
        assert acts[address] in (["no-op"], ["update"]), (address, acts[address])
