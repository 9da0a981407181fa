"""`eks-tfup plan --out DIR` then `eks-tfup apply --from DIR`, as a pull-request bot runs them.

An infrastructure repository (the example Terraform under `eks/`) with a local bare repository as
its remote. The Terraform state is shared between clones the way a real remote backend shares it:
the repository commits a `backend "local" { path = "<absolute path>" }` block, as a real one commits
its `backend "s3"` block, so every clone — the plan job's and the apply job's — reads and writes the
same state file. The plan job plans in one clone and pushes a branch; the apply job clones that
branch afresh and applies the artifact, with no state of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from eks_tfup import plan as planmod
from tests.e2e.conftest import CliResult, Env

SECRET = "hunter2-rotation-s3cr3t"
IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                         env={**os.environ, **IDENTITY})
    return out.stdout.strip()


@dataclass
class Infra:
    env: Env
    root: Path
    origin: Path
    state: Path

    def clone(self, name: str, branch: str = "main") -> Path:
        """A fresh clone of `branch`, as a CI job checks it out; returns its Terraform directory."""
        dest = self.root / name
        git(self.root, "clone", "--quiet", "--branch", branch, str(self.origin), str(dest))
        return dest / "eks"

    def serial(self) -> int:
        return int(json.loads(self.state.read_text())["serial"])

    def version(self) -> str:
        return str(self.env.eks().describe_cluster(name="demo")["cluster"]["version"])


def make_infra(env: Env, root: Path) -> Infra:
    """Move the provisioned state behind a committed local backend and push the repository to a bare remote."""
    root.mkdir()
    state = root / "shared-state" / "terraform.tfstate"
    state.parent.mkdir()
    shutil.move(env.tf_dir / "terraform.tfstate", state)
    origin = root / "origin.git"
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    seed = root / "seed"
    shutil.copytree(env.tf_dir, seed / "eks", ignore=shutil.ignore_patterns(
        ".terraform", ".eks-tfup", "terraform.tfstate*", ".terraform.lock.hcl"))
    (seed / "eks" / "backend.tf").write_text(f'terraform {{\n  backend "local" {{\n    path = "{state}"\n  }}\n}}\n')
    add_sensitive_value(seed / "eks")
    (seed / ".gitignore").write_text(".terraform/\n.terraform.lock.hcl\n.eks-tfup/\n*.tfstate*\n")
    git(seed, "init", "--quiet", "--initial-branch=main")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "infra")
    git(seed, "remote", "add", "origin", str(origin))
    git(seed, "push", "--quiet", "origin", "main")
    return Infra(env, root, origin, state)


def add_sensitive_value(tf_dir: Path) -> None:
    """A sensitive add-on configuration that changes with the version, and a sensitive output (test copy only).

    Not a tag: providers copy tags into `tags_all`, which Terraform cannot know is sensitive.
    """
    (tf_dir / "secrets.tf").write_text(
        f'variable "rotation_token" {{\n  type      = string\n  sensitive = true\n  default   = "{SECRET}"\n}}\n\n'
        'output "rotation_token" {\n  value     = var.rotation_token\n  sensitive = true\n}\n')
    main_tf = tf_dir / "main.tf"
    text = main_tf.read_text()
    old = '  tags = {\n    Environment = "demo"\n  }\n'
    assert old in text
    main_tf.write_text(text.replace(old, old + '\n  addon_configuration = {\n    coredns = jsonencode({ token = '
                                    '"${var.rotation_token}-${var.cluster_version}" })\n  }\n'))
    module = tf_dir / "modules" / "eks"
    (module / "secrets.tf").write_text(
        'variable "addon_configuration" {\n  type      = map(string)\n  default   = {}\n  sensitive = true\n}\n')
    module_main = module / "main.tf"
    text = module_main.read_text()
    old = '  resolve_conflicts_on_update = "OVERWRITE"\n'
    assert old in text
    module_main.write_text(text.replace(
        old, old + '  configuration_values        = lookup(var.addon_configuration, each.key, null)\n'))


@pytest.fixture
def infra(sandbox_env: Callable[..., Env], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Infra:
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    env = sandbox_env("healthy-1.28")
    return make_infra(env, tmp_path / "infra")


def plan_in_ci(infra: Infra, cli: Callable[..., CliResult], *extra: str) -> tuple[Path, Path, CliResult]:
    tf = infra.clone("plan-job")
    out = infra.root / "artifact"
    result = cli("plan", "1.29", "--dir", str(tf), "--out", str(out), "--branch", "--commit", "--push", "origin",
                 *extra)
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    return tf, out, result


def no_secret_in(*paths: Path) -> None:
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for f in files:
            if f.name in ("plan.tfplan", "plan.json") or ".terraform" in f.parts:
                continue  # Terraform's own plan carries the values; that is why the artifact is private
            assert SECRET not in f.read_text(errors="replace"), f"{f} leaks the sensitive value"


def test_plan_in_one_clone_apply_from_the_artifact_in_another(
        infra: Infra, cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gh_out, gh_summary = tmp_path / "gh-output", tmp_path / "gh-summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(gh_out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(gh_summary))
    serial = infra.serial()
    tf, out, planned = plan_in_ci(infra, cli, "--github")

    # The plan job changed nothing in the cluster or the state, and left no lock.
    assert infra.version() == "1.28" and infra.serial() == serial
    assert not list((tf / ".eks-tfup" / "locks").glob("*.lock"))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["plan.tfplan", "plan.json", "summary.json", "fingerprint.json", "comment.md"])

    # The branch was committed (only the HCL) and pushed.
    assert git(tf.parent, "branch", "--show-current") == "eks-tfup/demo-1.29"
    assert git(tf.parent, "log", "-1", "--format=%s") == "eks: upgrade demo to 1.29"
    assert git(tf.parent, "show", "--name-only", "--format=", "HEAD").splitlines() == ["eks/terraform.tfvars"]
    assert git(tf.parent, "status", "--porcelain") == ""
    remote_head = git(infra.root, "--git-dir", str(infra.origin), "rev-parse", "eks-tfup/demo-1.29")

    fp = json.loads((out / "fingerprint.json").read_text())
    assert fp["plan_sha256"] == hashlib.sha256((out / "plan.tfplan").read_bytes()).hexdigest()
    assert fp["git_commit"] == remote_head
    assert fp["tree_hash"] == git(tf.parent, "rev-parse", "HEAD:eks")
    assert (fp["planned_from"], fp["cluster"], fp["target"]) == ("1.28", "demo", "1.29")
    assert fp["changes_sha256"] == planmod.normalised_changes_digest(json.loads((out / "plan.json").read_text()))

    comment = (out / "comment.md").read_text()
    assert planmod.parse_marker(comment) == json.loads(json.dumps(fp))
    assert "## eks-tfup: upgrade demo 1.28 → 1.29" in comment
    assert "**Cluster version:** 1.28 → 1.29" in comment
    assert "to add" in comment and "to change" in comment and "to destroy" in comment
    assert "<details>" in comment and "| id | level | status | message |" in comment
    assert "(sensitive)" in comment
    summary = json.loads((out / "summary.json").read_text())
    assert summary["version_change"]["before"] == "1.28" and summary["version_change"]["after"] == "1.29"
    assert summary["changes_by_action"]["update"] and summary["checks"]

    outputs = gh_out.read_text()
    assert f"plan_dir={out}" in outputs and "has_changes=true" in outputs and "from=1.28" in outputs
    assert gh_summary.read_text().startswith(comment.splitlines()[0])

    # The apply job: a fresh clone of the pushed branch, the artifact, nothing else.
    tf2 = infra.clone("apply-job", branch="eks-tfup/demo-1.29")
    applied = cli("apply", "--from", str(out), "--dir", str(tf2), "--github")
    assert applied.exit_code == 0, applied.stdout[-3000:] + applied.stderr
    cluster = infra.env.eks().describe_cluster(name="demo")["cluster"]
    assert (cluster["version"], cluster["status"]) == ("1.29", "ACTIVE")
    assert infra.serial() > serial
    result = json.loads((out / "result.json").read_text())
    assert result["result"] == "applied" and result["report"]["status"] == "done"
    result_md = (out / "result.md").read_text()
    assert "applied" in result_md.splitlines()[1] and "control plane" in result_md
    assert "result=applied" in gh_out.read_text()
    assert "Terraform plan" not in applied.stdout or "Apply the saved plan" in applied.stdout
    assert not list((tf2 / ".eks-tfup" / "locks").glob("*.lock"))
    runs = sorted((tf2 / ".eks-tfup" / "runs").iterdir())
    journal = json.loads((runs[-1] / "journal.json").read_text())
    assert journal["kind"] == "apply" and journal["status"] == "done"
    assert journal["steps"]["review"]["status"] == "done"

    # Sensitive values: never in what this tool writes, nor in its output.
    no_secret_in(out, tf / ".eks-tfup", tf2 / ".eks-tfup", gh_out, gh_summary)
    assert SECRET not in planned.stdout + planned.stderr + applied.stdout + applied.stderr


@pytest.mark.slow
def test_apply_refuses_what_was_not_reviewed(infra: Infra, cli: Callable[..., CliResult]) -> None:
    _, out, _ = plan_in_ci(infra, cli)
    serial = infra.serial()
    tf2 = infra.clone("apply-job", branch="eks-tfup/demo-1.29")

    def refused(plan_dir: Path, *fragments: str) -> None:
        result = cli("apply", "--from", str(plan_dir), "--dir", str(tf2))
        assert result.exit_code == 3, result.stdout[-3000:] + result.stderr
        for fragment in fragments:
            assert fragment in result.stderr, result.stderr
        assert infra.version() == "1.28", "nothing may be applied"
        assert not list((tf2 / ".eks-tfup" / "locks").glob("*.lock"))
        assert json.loads((plan_dir / "result.json").read_text())["result"] == "refused"

    # 1. The plan file was modified after the review.
    tampered = infra.root / "tampered"
    shutil.copytree(out, tampered)
    with (tampered / "plan.tfplan").open("ab") as fh:
        fh.write(b"\0")
    refused(tampered, "plan file was modified")
    assert infra.serial() == serial
    # A refused apply is not resumable: resume would skip the verification.
    resumed = cli("resume", "--yes", "--dir", str(tf2))
    assert resumed.exit_code == 2 and "apply --from" in resumed.stderr, resumed.stderr

    # 2. The HCL changed after the plan (a commit on the branch).
    main_tf = tf2 / "main.tf"
    original = main_tf.read_text()
    main_tf.write_text(original.replace("max_size       = 6", "max_size       = 7"))
    git(tf2.parent, "commit", "--quiet", "-am", "bigger apps")
    refused(out, "Terraform directory changed since the plan: eks/main.tf")
    git(tf2.parent, "reset", "--quiet", "--hard", "HEAD~1")
    # ... or an uncommitted edit in the apply checkout.
    (tf2 / "extra.tf").write_text('locals {\n  x = 1\n}\n')
    refused(out, "eks/extra.tf")
    (tf2 / "extra.tf").unlink()
    assert infra.serial() == serial

    # 3. The state changed between plan and apply (someone applied another change from main).
    other = infra.clone("someone-else")
    main_other = other / "main.tf"
    main_other.write_text(main_other.read_text().replace('Environment = "demo"', 'Environment = "demo-2"'))
    from eks_tfup.terraform import Terraform

    tf_other = Terraform(other)
    tf_other.init()
    tf_other.plan(out=other / "x.tfplan")
    tf_other.apply(other / "x.tfplan")
    assert infra.serial() > serial
    refused(out, "the state changed since the plan: plan again")

    # 4. The cluster moved in between (another run upgraded it).
    eks = infra.env.eks()
    eks.update_cluster_version(name="demo", version="1.29")
    deadline = time.monotonic() + 60
    while eks.describe_cluster(name="demo")["cluster"]["status"] != "ACTIVE" and time.monotonic() < deadline:
        time.sleep(0.2)
    result = cli("apply", "--from", str(out), "--dir", str(tf2))
    assert result.exit_code == 3, result.stdout[-3000:] + result.stderr
    assert "cluster demo is on 1.29 now; the plan was made from 1.28" in result.stderr


def test_plan_refuses_a_dirty_tree_and_changes_nothing(
        sandbox_env: Callable[..., Env], cli: Callable[..., CliResult], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    env = sandbox_env("healthy-1.28", provisioned=False)
    repo = tmp_path / "repo"
    shutil.copytree(env.tf_dir, repo / "eks")
    (repo / ".gitignore").write_text(".terraform/\n.eks-tfup/\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "infra")
    (repo / "eks" / "notes.tf").write_text("# work in progress\n")
    tfvars = (repo / "eks" / "terraform.tfvars").read_bytes()
    out = tmp_path / "out"
    result = cli("plan", "1.29", "--dir", str(repo / "eks"), "--out", str(out), "--branch", "--commit")
    assert result.exit_code == 3, result.stdout[-2000:] + result.stderr
    assert "uncommitted changes" in result.stderr and "eks/notes.tf" in result.stderr
    assert not out.exists()
    assert (repo / "eks" / "terraform.tfvars").read_bytes() == tfvars
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "branch", "--list") == "* main"
    assert not list((repo / "eks" / ".eks-tfup").rglob("*.lock"))


@pytest.mark.slow
def test_a_refused_plan_reverts_the_edit_and_writes_no_dir(
        infra: Infra, cli: Callable[..., CliResult]) -> None:
    tf = infra.clone("plan-job")
    main_tf = tf / "main.tf"
    text = main_tf.read_text()
    start = text.index("    apps = {")
    end = text.index("    }\n", start) + len("    }\n")
    main_tf.write_text(text[:start] + text[end:])  # the plan would delete a node group
    git(tf.parent, "commit", "--quiet", "-am", "drop apps")
    head = git(tf.parent, "rev-parse", "HEAD")
    out = infra.root / "artifact"
    result = cli("plan", "1.29", "--dir", str(tf), "--out", str(out), "--branch", "--commit", "--push", "origin")
    assert result.exit_code == 3, result.stdout[-2000:] + result.stderr
    assert "--allow-destroy" in result.stderr and "reverted" in result.stderr
    assert not out.exists() and not list(out.parent.glob(".artifact*"))
    assert git(tf.parent, "status", "--porcelain") == ""
    assert git(tf.parent, "rev-parse", "HEAD") == head
    assert git(tf.parent, "branch", "--show-current") == "main"
    assert "eks-tfup/demo-1.29" not in git(infra.root, "--git-dir", str(infra.origin), "branch", "--list")


@pytest.mark.slow
def test_an_apply_from_that_failed_after_the_apply_is_resumed(
        infra: Infra, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = plan_in_ci(infra, cli)
    tf2 = infra.clone("apply-job", branch="eks-tfup/demo-1.29")
    monkeypatch.setenv("EKS_TFUP_HELMFILE_COMMANDS", "deps;no-such-command")  # the chart upgrade fails
    first = cli("apply", "--from", str(out), "--dir", str(tf2))
    assert first.exit_code == 1, first.stdout[-3000:] + first.stderr
    assert infra.version() == "1.29"
    assert json.loads((out / "result.json").read_text())["result"] == "failed"
    assert "eks-tfup resume" in (out / "result.md").read_text()
    monkeypatch.setenv("EKS_TFUP_HELMFILE_COMMANDS", "deps;sync")
    second = cli("resume", "--yes", "--dir", str(tf2))
    assert second.exit_code == 0, second.stdout[-3000:] + second.stderr
    assert "Apply the saved plan" not in second.stdout, "a completed apply is never repeated"
    assert json.loads((out / "result.json").read_text())["result"] == "applied"
    assert json.loads((out / "result.json").read_text())["report"]["status"] == "done"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_example_makefile_targets(sandbox_env: Callable[..., Env], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/Makefile in an infrastructure repository: status, plan, show, apply, then a whole upgrade."""
    import sys

    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    env = sandbox_env("healthy-1.28")
    repo = env.tf_dir
    (repo / ".gitignore").write_text(".terraform/\n.terraform.lock.hcl\n.eks-tfup/\n*.tfstate*\n.eks-tfup-plan/\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "infra")
    makefile = Path(__file__).resolve().parents[2] / "examples" / "Makefile"

    def make(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "--no-print-directory", "-f", str(makefile),
                               f"EKS_TFUP={sys.executable} -m eks_tfup", f"TF_DIR={repo}", *args],
                              cwd=repo, capture_output=True, text=True, input=stdin, timeout=600)

    status = make("eks-status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "1.28" in status.stdout
    assert make("eks-plan").returncode == 2  # VERSION is required
    planned = make("eks-plan", "VERSION=1.29")
    assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.28"
    shown = make("eks-show")
    assert shown.returncode == 0 and "## eks-tfup: upgrade demo 1.28 → 1.29" in shown.stdout
    applied = make("eks-apply")
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.29"
    assert json.loads((repo / ".eks-tfup-plan" / "result.json").read_text())["result"] == "applied"

    # The whole upgrade, declined at the question, then confirmed.
    git(repo, "commit", "--quiet", "-am", "eks: upgrade demo to 1.29")
    declined = make("eks-upgrade", "VERSION=1.30", stdin="n\n")
    assert declined.returncode != 0 and "not applied" in declined.stderr, declined.stdout[-2000:] + declined.stderr
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.29"
    git(repo, "checkout", "--quiet", "--", ".")
    upgraded = make("eks-upgrade", "VERSION=1.30", stdin="y\n")
    assert upgraded.returncode == 0, upgraded.stdout[-3000:] + upgraded.stderr
    assert env.eks().describe_cluster(name="demo")["cluster"]["version"] == "1.30"
