"""The review flow's pieces without a cluster: git operations on real repositories, CI files, DIR contents."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from eks_tfup import gitops, review
from eks_tfup import plan as planmod
from eks_tfup.errors import RefusedError, StepFailed, UsageError

FIXTURES = Path(__file__).parent / "plan_fixtures"
IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                         env={**os.environ, **IDENTITY})
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An infrastructure repository: eks/ (Terraform) and docs/, one commit, a bare remote `origin`."""
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "infra"
    (root / "eks").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "eks" / "main.tf").write_text('module "eks" {\n  cluster_version = var.v\n}\n')
    (root / "eks" / "terraform.tfvars").write_text('v = "1.28"\n')
    (root / "docs" / "README.md").write_text("infra\n")
    (root / ".gitignore").write_text(".terraform/\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "init")
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", "origin.git")
    git(root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    return root


def checkout(repo: Path) -> gitops.Checkout:
    co = gitops.open_checkout(repo / "eks")
    assert co is not None
    return co


# -- tree hash and dirty check ---------------------------------------------------------------------

def test_tree_hash_of_a_clean_checkout_is_the_committed_tree(repo: Path) -> None:
    co = checkout(repo)
    assert co.subdir == "eks" and co.root == repo.resolve()
    assert gitops.tree_hash(co) == git(repo, "rev-parse", "HEAD:eks")
    assert gitops.dirty_files(co) == []


def test_tree_hash_sees_what_terraform_sees_and_not_what_tools_write(repo: Path) -> None:
    co = checkout(repo)
    clean = gitops.tree_hash(co)
    # What Terraform and this tool write does not count (ignored or not, when untracked).
    for rel in (".terraform/providers/x", ".eks-tfup/runs/j.json", ".terraform.lock.hcl", "terraform.tfstate",
                "plan-out/plan.tfplan"):
        path = repo / "eks" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("generated\n")
    assert gitops.tree_hash(co, exclude=[repo / "eks" / "plan-out"]) == clean
    assert gitops.dirty_files(co, exclude=[repo / "eks" / "plan-out"]) == []
    # Changes outside the Terraform directory do not either.
    (repo / "docs" / "README.md").write_text("changed\n")
    assert gitops.tree_hash(co, exclude=[repo / "eks" / "plan-out"]) == clean
    # An untracked .tf file and an uncommitted edit do, and are named; the user's index is untouched.
    (repo / "eks" / "extra.tf").write_text("locals {}\n")
    (repo / "eks" / "terraform.tfvars").write_text('v = "1.29"\n')
    dirty = gitops.tree_hash(co, exclude=[repo / "eks" / "plan-out"])
    assert dirty != clean
    assert gitops.dirty_files(co, exclude=[repo / "eks" / "plan-out"]) == ["eks/extra.tf", "eks/terraform.tfvars"]
    assert gitops.changed_paths(co, clean, dirty) == ["eks/extra.tf", "eks/terraform.tfvars"]
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_a_tracked_lock_file_counts(repo: Path) -> None:
    co = checkout(repo)
    (repo / "eks" / ".terraform.lock.hcl").write_text("provider v1\n")
    git(repo, "add", "eks/.terraform.lock.hcl")
    git(repo, "commit", "--quiet", "-m", "lock")
    assert gitops.tree_hash(co) == git(repo, "rev-parse", "HEAD:eks")
    (repo / "eks" / ".terraform.lock.hcl").write_text("provider v2\n")
    assert gitops.dirty_files(co) == ["eks/.terraform.lock.hcl"]


def test_outside_git_the_files_are_digested(tmp_path: Path) -> None:
    tf = tmp_path / "tf"
    (tf / ".terraform").mkdir(parents=True)
    (tf / "main.tf").write_text("a\n")
    assert gitops.open_checkout(tf) is None
    first = gitops.files_digest(tf)
    assert first.startswith(gitops.FILES_DIGEST_PREFIX)
    (tf / ".terraform" / "x").write_text("ignored\n")
    (tf / "terraform.tfstate").write_text("{}\n")
    assert gitops.files_digest(tf) == first
    (tf / "main.tf").write_text("b\n")
    assert gitops.files_digest(tf) != first


# -- branch, commit, push --------------------------------------------------------------------------

def test_branch_commit_only_the_hcl_and_push(repo: Path, tmp_path: Path) -> None:
    co = checkout(repo)
    (repo / "docs" / "README.md").write_text("staged, not ours\n")
    git(repo, "add", "docs/README.md")
    (repo / "eks" / "terraform.tfvars").write_text('v = "1.29"\n')
    previous = gitops.create_branch(co, "eks-tfup/demo-1.29")
    assert previous == "main" and gitops.current_branch(co) == "eks-tfup/demo-1.29"
    sha = gitops.commit_paths(co, [repo / "eks" / "terraform.tfvars"], "eks: upgrade demo to 1.29")
    assert git(repo, "show", "--name-only", "--format=%s", sha).splitlines() == [
        "eks: upgrade demo to 1.29", "", "eks/terraform.tfvars"]
    assert git(repo, "diff", "--cached", "--name-only") == "docs/README.md"  # still staged, not committed
    gitops.push(co, "origin", "eks-tfup/demo-1.29")
    assert git(tmp_path, "--git-dir", "origin.git", "rev-parse", "eks-tfup/demo-1.29") == sha
    assert gitops.tree_hash(co) == git(repo, "rev-parse", "HEAD:eks")
    # The same branch again (a second plan for this version) is refused unless checked out.
    gitops.check_branch_free(co, "eks-tfup/demo-1.29")
    git(repo, "checkout", "--quiet", "main")
    with pytest.raises(RefusedError, match="already exists"):
        gitops.check_branch_free(co, "eks-tfup/demo-1.29")


def test_commit_without_an_identity_uses_a_fallback(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in IDENTITY:
        monkeypatch.delenv(key)
    co = checkout(repo)
    (repo / "eks" / "terraform.tfvars").write_text('v = "1.29"\n')
    sha = gitops.commit_paths(co, [repo / "eks" / "terraform.tfvars"], "eks: upgrade demo to 1.29")
    assert git(repo, "log", "-1", "--format=%an <%ae>", sha) == "eks-tfup <eks-tfup@localhost>"


def test_abandoned_branch_is_removed(repo: Path) -> None:
    co = checkout(repo)
    previous = gitops.create_branch(co, "eks-tfup/demo-1.29")
    assert previous is not None
    gitops.abandon_branch(co, previous, "eks-tfup/demo-1.29")
    assert gitops.current_branch(co) == "main"
    assert git(repo, "branch", "--list") == "* main"


def test_git_failures_are_one_line_errors(repo: Path) -> None:
    co = checkout(repo)
    with pytest.raises(UsageError, match="no git remote named 'upstream'"):
        gitops.push(co, "upstream", "x")
    with pytest.raises(UsageError, match="not a valid git branch name"):
        gitops.validate_branch_name(co, "bad..name")
    git(repo, "remote", "set-url", "origin", str(repo.parent / "missing.git"))
    with pytest.raises(StepFailed, match="git push origin x failed"):
        gitops.push(co, "origin", "x")


# -- CI files --------------------------------------------------------------------------------------

def test_github_outputs_and_summary_are_appended(tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary.md"
    out.write_text("earlier=1")  # another step's output, without a final newline
    gh = review.GithubFiles.from_env({"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)})
    gh.write_outputs({"has_changes": "true", "notes": "two\nlines"})
    gh.write_summary("## one")
    gh.write_summary("## two")
    lines = out.read_text().splitlines()
    assert lines[:2] == ["earlier=1", "has_changes=true"]
    delimiter = lines[2].split("<<", 1)[1]
    assert lines[2] == f"notes<<{delimiter}" and lines[3:6] == ["two", "lines", delimiter]
    assert summary.read_text() == "## one\n\n## two\n\n"
    review.GithubFiles.from_env({}).write_outputs({"x": "y"})  # not in CI: nothing to do


# -- plan directory contents -----------------------------------------------------------------------

def _summary(name: str) -> tuple[dict[str, object], planmod.PlanSummary]:
    plan_json = json.loads((FIXTURES / name).read_text())
    return plan_json, planmod.analyse(plan_json, target="1.29")


def test_summary_json_lists_addresses_by_action_and_no_values() -> None:
    plan_json, summary = _summary("sensitive.json")
    data = review.build_summary(cluster="demo", from_version="1.28", target="1.29", checks=[], summary=summary,
                                warnings=list(summary.warnings), changed=review.has_changes(plan_json),
                                fingerprint={"plan_sha256": "0" * 64}, git={})
    text = json.dumps(data)
    assert "hunter2" not in text and "SECRET" not in text
    assert data["has_changes"] is True
    by_action = data["changes_by_action"]
    assert isinstance(by_action, dict)
    assert sum(len(v) for v in by_action.values()) == len(summary.changes)


def test_has_changes() -> None:
    assert not review.has_changes({"resource_changes": [{"change": {"actions": ["no-op"]}},
                                                        {"change": {"actions": ["read"]}}]})
    assert review.has_changes({"resource_changes": [], "output_changes": {"x": {"actions": ["update"]}}})
    assert review.has_changes({"resource_changes": [{"change": {"actions": ["delete", "create"]}}]})


def test_a_huge_plan_comment_stays_under_the_limit_with_summary_and_version(tmp_path: Path) -> None:
    typical = json.loads((FIXTURES / "upgrade_typical.json").read_text())
    cluster = next(rc for rc in typical["resource_changes"] if rc["type"] == "aws_eks_cluster")
    changes = [cluster] + [
        {"address": f'aws_iam_policy.p["{i}"]', "mode": "managed", "type": "aws_iam_policy", "name": "p",
         "change": {"actions": ["update"], "before": {"policy": "x" * 400 + str(i)},
                    "after": {"policy": "y" * 400 + str(i)}, "after_unknown": {}, "before_sensitive": {},
                    "after_sensitive": {}}} for i in range(3000)]
    plan_json = {**typical, "resource_changes": changes}
    summary = planmod.analyse(plan_json, target="1.29")
    checks = [{"id": f"C{i:03d}", "level": "required", "status": "pass", "message": "ok " * 30} for i in range(40)]
    fp = {"schema": 1, "plan_sha256": "a" * 64, "cluster": "demo", "target": "1.29"}
    comment = planmod.render_comment(cluster="demo", from_version="1.28", to_version="1.29", checks=checks,
                                     summary=summary, diff_text=planmod.render_diff_text(summary), fingerprint=fp,
                                     limit=review.COMMENT_LIMIT)
    assert len(comment) < review.COMMENT_LIMIT
    assert "**Cluster version:** 1.28 → 1.29" in comment
    assert "Plan: 0 to add, 3001 to change, 0 to destroy." in comment
    assert "cut from the middle" in comment
    assert planmod.parse_marker(comment) == fp


def test_out_dir_must_be_new_empty_or_an_earlier_plan(tmp_path: Path) -> None:
    review._check_out_dir(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    review._check_out_dir(tmp_path / "empty")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("")
    with pytest.raises(UsageError, match="not a plan directory"):
        review._check_out_dir(tmp_path / "src")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / review.FINGERPRINT).write_text("{}")
    review._check_out_dir(earlier)
    fresh = tmp_path / ".tmp"
    fresh.mkdir()
    (fresh / review.FINGERPRINT).write_text('{"new": 1}')
    review._replace_dir(fresh, earlier)
    assert json.loads((earlier / review.FINGERPRINT).read_text()) == {"new": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier", "empty", "src"]


def test_a_fingerprint_must_be_complete(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="plan directory not found"):
        review.load_fingerprint(tmp_path / "missing")
    with pytest.raises(UsageError, match=r"no fingerprint\.json"):
        review.load_fingerprint(tmp_path)
    (tmp_path / review.FINGERPRINT).write_text(json.dumps({"schema": 1, "plan_sha256": "x"}))
    with pytest.raises(UsageError, match="not a fingerprint"):
        review.load_fingerprint(tmp_path)
