"""Review in a pull request: `plan_for_review` writes a plan directory, `apply_from_review` applies it.

The plan job runs the checks, the HCL edit and `terraform plan -out`, and writes DIR:

    plan.tfplan       the saved plan, applied as is (never planned again)
    plan.json         `terraform show -json plan.tfplan`
    summary.json      cluster, versions, checks, changes by action, warnings (no attribute values)
    fingerprint.json  plan SHA-256, changes digest, git commit, tree hash of the Terraform directory,
                      Terraform version, the version planned from, cluster, target
    comment.md        the PR comment; its first line is a hidden marker carrying the fingerprint

DIR appears complete or not at all: it is built in a temporary sibling and renamed into place. A
failed or refused plan job leaves no DIR, no lock, and puts the HCL back (unless it was committed).

The apply job verifies before touching anything — the plan file's hash, the Terraform directory's
tree in this checkout, the cluster still on the version planned from, the Terraform version, and
that the plan's changes are the reviewed ones — then applies the saved plan through the same
journaled steps as `bump` (apply, verify, chart upgrades, report), under the cluster's lock, and
writes `result.md` (a follow-up comment) and `result.json` into DIR whatever the outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eks_tfup import gitops
from eks_tfup import plan as planmod
from eks_tfup.config import Settings
from eks_tfup.errors import EksTfupError, Interrupted, RefusedError, UsageError
from eks_tfup.files import write_bytes_atomic, write_json_atomic, write_text_atomic
from eks_tfup.journal import Journal
from eks_tfup.versions import Minor
from eks_tfup.workflow import STEP_NAMES, STEPS, Run, Step, Ui

PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
SUMMARY = "summary.json"
FINGERPRINT = "fingerprint.json"
COMMENT = "comment.md"
RESULT_MD = "result.md"
RESULT_JSON = "result.json"
SUMMARY_SCHEMA = 1
COMMENT_LIMIT = 60000
RESULT_MARKER = "<!-- eks-tfup-result "


# -- CI ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GithubFiles:
    """GitHub Actions' `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` (either may be unset)."""

    output: Path | None = None
    step_summary: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GithubFiles:
        def path(name: str) -> Path | None:
            value = environ.get(name)
            return Path(value) if value else None

        return cls(path("GITHUB_OUTPUT"), path("GITHUB_STEP_SUMMARY"))

    def write_outputs(self, outputs: Mapping[str, str]) -> None:
        if self.output is None:
            return
        lines = []
        for key, value in outputs.items():
            if "\n" in value or "\r" in value:
                # GitHub's multi-line syntax; a random delimiter cannot occur in the value.
                delimiter = f"EKS_TFUP_{secrets.token_hex(8)}"
                lines.append(f"{key}<<{delimiter}\n{value}\n{delimiter}")
            else:
                lines.append(f"{key}={value}")
        _append(self.output, "\n".join(lines) + "\n")

    def write_summary(self, markdown: str) -> None:
        if self.step_summary is not None:
            _append(self.step_summary, markdown.rstrip("\n") + "\n\n")


def _append(path: Path, text: str) -> None:
    # GitHub reads these files after the step: rewriting them atomically with the addition is an append.
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    write_text_atomic(path, existing + text)


# -- plan -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GitOptions:
    branch: str | None = None  # create and switch to this branch (None: stay on the current one)
    commit: bool = False  # commit the edited HCL file(s), nothing else
    push: str | None = None  # push to this remote
    allow_dirty: bool = False


def default_branch(cluster: str, target: Minor) -> str:
    return f"eks-tfup/{cluster}-{target}"


@dataclass(frozen=True)
class PlanOutcome:
    out_dir: Path
    run_id: str
    cluster: str
    from_version: str
    target: str
    has_changes: bool
    summary_line: str
    fingerprint: Mapping[str, Any]
    branch: str | None = None
    commit: str | None = None
    pushed_to: str | None = None

    def outputs(self) -> dict[str, str]:
        return {
            "plan_dir": str(self.out_dir), "comment_path": str(self.out_dir / COMMENT),
            "has_changes": "true" if self.has_changes else "false", "cluster": self.cluster,
            "from": self.from_version, "to": self.target, "summary": self.summary_line,
            "plan_sha256": str(self.fingerprint.get("plan_sha256", "")), "branch": self.branch or "",
            "commit": self.commit or "", "result": "planned",
        }


def plan_for_review(settings: Settings, target: Minor, ui: Ui, *, out_dir: Path, git: GitOptions = GitOptions(),
                    refresh_charts: bool = False, github: GithubFiles | None = None) -> PlanOutcome:
    """Checks, (charts), HCL edit, `terraform plan -out`; then DIR, and the branch/commit/push asked for."""
    from eks_tfup.workflow import _lock

    cluster = settings.require_cluster()
    out_dir = Path(out_dir).resolve()
    _check_out_dir(out_dir)
    excludes = (out_dir,)
    co = gitops.open_checkout(settings.tf_dir)
    branch = _check_git(co, git, cluster, target, excludes)

    journal = Journal.create(settings.runs_dir, cluster=cluster, target=str(target), kind="plan",
                             meta={"tf_dir": str(settings.tf_dir), "plan_dir": str(out_dir)})
    lock = _lock(settings, cluster, journal)
    run = Run(settings, ui, journal, target, cluster, yes=True)
    committed = False
    previous_branch: str | None = None
    try:
        ui.info(f"run {journal.run_id} ({journal.run_dir})")
        if lock.taken_over:
            run.warn(lock.taken_over)
        by_name = {s.name: s for s in STEPS}
        steps = [by_name["check"], *([by_name["refresh_charts"]] if refresh_charts else []),
                 by_name["edit_hcl"], by_name["plan"]]
        if not refresh_charts:
            # Recorded as skipped, not silently absent: a plan job changes nothing in the cluster.
            journal.finished("refresh_charts", outcome="skipped", detail="not asked (--refresh-charts)")
        for i, step in enumerate(steps, 1):
            _run_step(run, i, len(steps), step)

        plan_json: dict[str, Any] = json.loads((run.run_dir / PLAN_JSON).read_text(encoding="utf-8"))
        summary = planmod.analyse(plan_json, target=str(target), cluster_address=settings.address,
                                  allow_destroy=settings.allow_destroy)
        from_version = str(journal.data["from_version"])
        changed_files = [Path(p) for p in run.state.get("hcl_edit", {}).get("changed_files", [])]

        commit = None
        if co is not None:
            if branch and git.branch:
                previous_branch = gitops.create_branch(co, branch)
            if git.commit:
                if changed_files:
                    commit = gitops.commit_paths(co, changed_files, _commit_message(
                        cluster, from_version, target, summary, run.run_dir / "plan.tfplan"))
                    committed = True
                    ui.info(f"committed {', '.join(co.rel(p) for p in changed_files)} as {commit[:12]}"
                            + (f" on {branch}" if branch else ""))
                else:
                    run.warn("nothing to commit: the HCL already had the target version")
            git_commit = gitops.head_commit(co)
            tree = gitops.tree_hash(co, exclude=excludes)
        else:
            git_commit, tree = None, gitops.files_digest(settings.tf_dir, exclude=excludes)

        outcome = _write_plan_dir(run, out_dir, plan_json, summary, from_version=from_version,
                                  git_commit=git_commit, tree=tree, co=co, branch=branch, git=git)
        journal.state["review"] = {"plan_dir": str(out_dir), "branch": branch, "commit": commit,
                                   "fingerprint": dict(outcome.fingerprint)}
        journal.set_status("done")
    except BaseException as exc:
        _plan_failed(run, exc, committed=committed, co=co, previous_branch=previous_branch, branch=branch)
        raise
    finally:
        lock.release()
    ui.info(f"plan for review written to {out_dir}: {outcome.summary_line}")
    if github is not None:
        github.write_outputs(outcome.outputs())
        github.write_summary((out_dir / COMMENT).read_text(encoding="utf-8"))
    return outcome


def _check_out_dir(out_dir: Path) -> None:
    """DIR may be new, empty, or an earlier plan directory (replaced); never some other directory."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / FINGERPRINT).is_file():
        raise UsageError(f"--out {out_dir} is not empty and is not a plan directory: it would be replaced",
                         hint="choose a new or empty directory")


def _check_git(co: gitops.Checkout | None, git: GitOptions, cluster: str, target: Minor,
               excludes: tuple[Path, ...]) -> str | None:
    """The refusals that must come before anything runs; returns the branch the plan will be on."""
    if co is None:
        if git.branch or git.commit or git.push:
            raise UsageError("--branch, --commit and --push need the Terraform directory to be in a git repository")
        return None
    dirty = gitops.dirty_files(co, exclude=excludes)
    if dirty and not git.allow_dirty:
        shown = ", ".join(dirty[:10]) + (f" (and {len(dirty) - 10} more)" if len(dirty) > 10 else "")
        raise RefusedError(f"uncommitted changes in the Terraform directory: {shown}",
                           hint="commit or stash them, or pass --allow-dirty (the plan then includes them, "
                                "and an apply from a clean clone refuses it)")
    if git.branch:
        gitops.validate_branch_name(co, git.branch)
        gitops.check_branch_free(co, git.branch)
        return git.branch
    branch = gitops.current_branch(co)
    if git.push and branch is None:
        raise UsageError("HEAD is detached: pass --branch to name the branch to push")
    return branch


def _run_step(run: Run, index: int, total: int, step: Step) -> None:
    run.ui.step(index, total, step.title)
    run.journal.started(step.name)
    try:
        outcome = step.fn(run)
    except (KeyboardInterrupt, Interrupted):
        run.journal.failed(step.name, "interrupted", status="interrupted")
        raise Interrupted(f"interrupted during '{step.name}': nothing was applied; run `eks-tfup plan` again") \
            from None
    except EksTfupError as exc:
        run.journal.failed(step.name, str(exc), status="refused" if isinstance(exc, RefusedError) else "failed")
        raise
    run.journal.finished(step.name, detail=outcome)


def _plan_failed(run: Run, exc: BaseException, *, committed: bool, co: gitops.Checkout | None,
                 previous_branch: str | None, branch: str | None) -> None:
    """Leave the checkout as it was: the HCL edit reverted (unless committed), a new empty branch dropped."""
    from eks_tfup.workflow import _revert_hcl

    if run.journal.data.get("status") == "running":
        status = "refused" if isinstance(exc, RefusedError) else "failed"
        run.journal.set_status(status, str(exc))
    if committed:
        if isinstance(exc, EksTfupError):
            exc.message += f"; the HCL edit stays committed on {branch or 'the current branch'}"
        return
    edited = bool(run.state.get("hcl_edit", {}).get("changed_files"))
    with contextlib.suppress(EksTfupError):
        _revert_hcl(run)
        if co is not None and previous_branch is not None and branch is not None:
            gitops.abandon_branch(co, previous_branch, branch)
        if edited and isinstance(exc, EksTfupError):
            exc.message += "; the HCL edit was reverted"


def _commit_message(cluster: str, from_version: str, target: Minor, summary: planmod.PlanSummary,
                    plan_path: Path) -> str:
    return (f"eks: upgrade {cluster} to {target}\n\n"
            f"Kubernetes {from_version} -> {target}, one minor.\n"
            f"{planmod.summary_line(summary)}\n"
            f"Plan SHA-256: {_sha256(plan_path)}\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def has_changes(plan_json: Mapping[str, Any]) -> bool:
    """Whether applying the plan would change anything (resources or outputs)."""
    for rc in plan_json.get("resource_changes") or ():
        if set((rc.get("change") or {}).get("actions") or ()) - {"no-op", "read"}:
            return True
    return any(set((oc or {}).get("actions") or ()) - {"no-op"}
               for oc in (plan_json.get("output_changes") or {}).values())


def build_summary(*, cluster: str, from_version: str, target: str, checks: list[dict[str, Any]],
                  summary: planmod.PlanSummary, warnings: list[str], changed: bool,
                  fingerprint: Mapping[str, Any], git: Mapping[str, Any],
                  charts_refreshed: bool = False) -> dict[str, Any]:
    """summary.json: what a bot needs to decide and display, addresses only (never attribute values)."""
    by_action: dict[str, list[str]] = {}
    for res in summary.changes:
        by_action.setdefault(res.action, []).append(res.address)
    c = summary.counts
    vc = summary.version_change
    return {
        "schema": SUMMARY_SCHEMA, "cluster": cluster, "from": from_version, "to": target,
        "has_changes": changed, "summary_line": planmod.summary_line(summary),
        "version_change": {"address": vc.address, "before": vc.before, "after": vc.after} if vc else None,
        "counts": {"add": c.add, "change": c.change, "destroy": c.destroy, "import": c.imports,
                   "forget": c.forget, "read": c.read},
        "changes_by_action": by_action, "drift": list(summary.drift), "refusals": list(summary.refusals),
        "checks": checks, "warnings": warnings, "charts_refreshed": charts_refreshed,
        "terraform_version": summary.terraform_version,
        "fingerprint": dict(fingerprint), "git": dict(git),
    }


def _write_plan_dir(run: Run, out_dir: Path, plan_json: dict[str, Any], summary: planmod.PlanSummary, *,
                    from_version: str, git_commit: str | None, tree: str, co: gitops.Checkout | None,
                    branch: str | None, git: GitOptions) -> PlanOutcome:
    """Build DIR in a temporary sibling, push if asked, then move it into place (all or nothing)."""
    from eks_tfup.workflow import _terraform

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        write_bytes_atomic(tmp / PLAN_FILE, (run.run_dir / PLAN_FILE).read_bytes())
        write_json_atomic(tmp / PLAN_JSON, plan_json)
        fp = planmod.fingerprint(plan_path=tmp / PLAN_FILE, plan_json=plan_json, git_commit=git_commit,
                                 tree_hash=tree, terraform_version=_terraform(run).version(),
                                 planned_from=from_version, cluster=run.cluster, target=str(run.target))
        fp["terraform_dir"] = co.subdir if co is not None else None
        write_json_atomic(tmp / FINGERPRINT, fp)
        checks: list[dict[str, Any]] = run.state.get("checks", [])
        warnings = list(run.state.get("warnings", []))
        git_info = {"commit": git_commit, "branch": branch, "pushed_to": git.push}
        changed = has_changes(plan_json)
        write_json_atomic(tmp / SUMMARY, build_summary(
            cluster=run.cluster, from_version=from_version, target=str(run.target), checks=checks,
            summary=summary, warnings=warnings, changed=changed, fingerprint=fp, git=git_info,
            charts_refreshed=run.journal.step("refresh_charts").get("outcome") == "ok"))
        comment = planmod.render_comment(cluster=run.cluster, from_version=from_version,
                                         to_version=str(run.target), checks=checks, summary=summary,
                                         diff_text=planmod.render_diff_text(summary), fingerprint=fp,
                                         limit=COMMENT_LIMIT)
        write_text_atomic(tmp / COMMENT, comment)
        if git.push and co is not None and branch:
            gitops.push(co, git.push, branch)
            run.ui.info(f"pushed {branch} to {git.push}")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PlanOutcome(out_dir=out_dir, run_id=run.journal.run_id, cluster=run.cluster, from_version=from_version,
                       target=str(run.target), has_changes=changed, summary_line=planmod.summary_line(summary),
                       fingerprint=fp, branch=branch, commit=git_commit if git.commit else None,
                       pushed_to=git.push)


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    # An earlier plan directory: move it aside first (a directory cannot be renamed over a full one).
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    os.replace(out_dir, old / out_dir.name)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


# -- apply ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplyOutcome:
    plan_dir: Path
    run_id: str
    cluster: str
    from_version: str
    target: str
    result: str  # applied, refused, failed, interrupted
    message: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def outputs(self) -> dict[str, str]:
        return {"plan_dir": str(self.plan_dir), "result_path": str(self.plan_dir / RESULT_MD),
                "cluster": self.cluster, "from": self.from_version, "to": self.target, "result": self.result,
                "run_id": self.run_id}


def load_fingerprint(plan_dir: Path) -> dict[str, Any]:
    path = plan_dir / FINGERPRINT
    if not plan_dir.is_dir():
        raise UsageError(f"plan directory not found: {plan_dir}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{plan_dir} is not a plan directory: no {FINGERPRINT}",
                         hint="pass the DIR written by `eks-tfup plan VERSION --out DIR`") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    required = ("plan_sha256", "changes_sha256", "tree_hash", "terraform_version", "planned_from", "cluster",
                "target")
    if not isinstance(data, dict) or data.get("schema") != planmod.FINGERPRINT_SCHEMA \
            or any(not data.get(k) for k in required):
        raise UsageError(f"{path}: not a fingerprint this version reads (schema {planmod.FINGERPRINT_SCHEMA})")
    return data


def apply_from_review(settings: Settings, plan_dir: Path, ui: Ui, *,
                      github: GithubFiles | None = None) -> ApplyOutcome:
    """Verify DIR against this checkout and the cluster, apply its saved plan, verify, charts, report."""
    from eks_tfup.terraform import StalePlanError
    from eks_tfup.workflow import _execute, _lock

    plan_dir = Path(plan_dir).resolve()
    fp = load_fingerprint(plan_dir)
    cluster = str(fp["cluster"])
    if settings.cluster and settings.cluster != cluster:
        raise RefusedError(f"the plan in {plan_dir} is for cluster {cluster}, this directory manages "
                           f"{settings.cluster}")
    target = Minor.parse_target(str(fp["target"]))
    from_version = str(fp["planned_from"])
    journal = Journal.create(settings.runs_dir, cluster=cluster, target=str(target), kind="apply",
                             meta={"tf_dir": str(settings.tf_dir), "plan_dir": str(plan_dir),
                                   "from_version": from_version})
    result, message = "failed", ""
    run: Run | None = None
    try:
        lock = _lock(settings, cluster, journal)
        try:
            ui.info(f"run {journal.run_id} ({journal.run_dir})")
            run = Run(settings, ui, journal, target, cluster, yes=True)
            if lock.taken_over:
                run.warn(lock.taken_over)
            refreshed = _plan_summary(plan_dir).get("charts_refreshed")
            for name in STEP_NAMES[: STEP_NAMES.index("review")]:
                skipped = name == "refresh_charts" and refreshed is False
                where = f"the plan job ({plan_dir.name})"
                journal.step(name).update(status="done", outcome="skipped" if skipped else "elsewhere",
                                          detail=f"skipped in {where}" if skipped else f"in {where}")
            _run_step(run, STEP_NAMES.index("review") + 1, len(STEPS),
                      Step("review", "Verify the reviewed plan against this checkout and the cluster",
                           lambda r: verify_reviewed(r, plan_dir, fp)))
            try:
                _execute(run)
            except StalePlanError as exc:
                # Terraform's own check: the state moved after the plan. Nothing was applied.
                journal.set_status("refused", str(exc))
                raise RefusedError(str(exc), hint=exc.hint) from None
        finally:
            lock.release()
        result = "applied"
    except RefusedError as exc:
        result, message = "refused", str(exc)
        raise
    except (KeyboardInterrupt, Interrupted) as exc:
        result, message = "interrupted", str(exc) or "interrupted"
        raise
    except EksTfupError as exc:
        result, message = "failed", str(exc)
        raise
    finally:
        outcome = ApplyOutcome(plan_dir, journal.run_id, cluster, from_version, str(target), result, message,
                               tuple(run.warnings) if run else ())
        text = write_result(outcome, journal)
        if github is not None:
            github.write_outputs(outcome.outputs())
            github.write_summary(text)
    return outcome


def _plan_summary(plan_dir: Path) -> dict[str, Any]:
    """summary.json, for display only (nothing is verified against it): {} when absent or unreadable."""
    try:
        data = json.loads((plan_dir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def verify_reviewed(run: Run, plan_dir: Path, fp: Mapping[str, Any]) -> str:
    """Everything that must still hold for the reviewed plan to be applied here. Refuses, naming what changed."""
    from eks_tfup.gather import snapshot
    from eks_tfup.workflow import _planned_nodegroups, _terraform

    reviewed = str(fp["plan_sha256"])
    source = plan_dir / PLAN_FILE
    if not source.is_file():
        raise RefusedError(f"{source} is missing: the plan directory is incomplete")
    # Copy first and hash the copy: the bytes checked are the bytes applied.
    plan_path = run.run_dir / PLAN_FILE
    write_bytes_atomic(plan_path, source.read_bytes())
    actual = _sha256(plan_path)
    if actual != reviewed:
        raise RefusedError(f"the plan file was modified after the review: SHA-256 {actual[:12]}, "
                           f"reviewed {reviewed[:12]}", hint="plan again and review the new plan")

    excludes = (plan_dir,)
    planned_tree = str(fp["tree_hash"])
    co = gitops.open_checkout(run.settings.tf_dir)
    if planned_tree.startswith(gitops.FILES_DIGEST_PREFIX) or co is None:
        current = gitops.files_digest(run.settings.tf_dir, exclude=excludes)
        changed: list[str] | None = None
    else:
        current = gitops.tree_hash(co, exclude=excludes)
        changed = gitops.changed_paths(co, planned_tree, current) if current != planned_tree else []
    if current != planned_tree:
        what = (f": {', '.join(changed[:10])}" + (f" (and {len(changed) - 10} more)" if len(changed) > 10 else "")
                if changed else f" (tree {current[:12]}, planned {planned_tree[:12]})")
        raise RefusedError(f"the Terraform directory changed since the plan{what}",
                           hint="check out the reviewed commit, or plan again")

    cluster = run.aws.describe_cluster(run.cluster)
    planned_from = str(fp["planned_from"])
    if cluster.version != planned_from:
        raise RefusedError(f"cluster {run.cluster} is on {cluster.version} now; the plan was made from "
                           f"{planned_from}: something else upgraded it since", hint="plan again")
    busy = [u for u in run.aws.cluster_updates(run.cluster) if u.status == "InProgress"]
    if cluster.status != "ACTIVE" or busy:
        what = f"update {busy[0].id} ({busy[0].type})" if busy else f"status {cluster.status}"
        raise RefusedError(f"cluster {run.cluster} is busy ({what}): wait for it, then apply again")

    tf = _terraform(run)
    version = tf.version()
    if version != fp["terraform_version"]:
        raise RefusedError(f"Terraform {version} here, the plan was made with {fp['terraform_version']}",
                           hint="use the same Terraform (--terraform-bin) as the plan job")
    tf.init(sink=run.sink)
    plan_json = tf.show_json(plan_path)
    if planmod.normalised_changes_digest(plan_json) != fp["changes_sha256"]:
        raise RefusedError("the saved plan's changes are not the reviewed ones (changes digest differs)",
                           hint="plan again and review the new plan")
    write_json_atomic(run.run_dir / PLAN_JSON, plan_json)
    summary = planmod.analyse(plan_json, target=str(run.target), cluster_address=run.settings.address,
                              allow_destroy=True)  # judged at plan time; here only its description is needed
    run.state["plan"] = {"file": PLAN_FILE, "summary_line": planmod.summary_line(summary),
                         "nodegroups": _planned_nodegroups(plan_json), "reviewed_sha256": reviewed}
    run.journal.data["from_version"] = planned_from
    before = snapshot(run.aws, run.kube, run.cluster)
    run.state["before"] = before.as_dict()
    run.state["baseline_failing"] = dict(before.failing_pods)
    run.ui.info(f"verified: plan {reviewed[:12]}, tree {planned_tree[:12]}, cluster on {planned_from}, "
                f"Terraform {version}")
    return f"plan {reviewed[:12]} verified: {planmod.summary_line(summary)}"


def resumed_apply_done(journal: Journal) -> None:
    """An apply-from run finished by `eks-tfup resume`: rewrite result.md/result.json in its plan directory."""
    plan_dir = Path(str(journal.data.get("plan_dir", "")))
    if not journal.data.get("plan_dir") or not plan_dir.is_dir():
        return
    write_result(ApplyOutcome(plan_dir, journal.run_id, str(journal.data["cluster"]),
                              str(journal.data.get("from_version", "?")), str(journal.data["target"]), "applied",
                              "finished by `eks-tfup resume`"), journal)


def _inert(text: str) -> str:
    """One line of plain text that cannot open HTML comments or tags in the Markdown."""
    import html

    return html.escape(" ".join(text.split()), quote=False)


def write_result(outcome: ApplyOutcome, journal: Journal) -> str:
    """result.md (a follow-up comment) and result.json in the plan directory; returns the Markdown."""
    from eks_tfup import report

    rep = report.build(journal)
    head = {"applied": "applied", "refused": "refused: nothing was applied",
            "failed": "failed", "interrupted": "interrupted"}[outcome.result]
    data = {"schema": SUMMARY_SCHEMA, **{k: v for k, v in outcome.outputs().items() if k != "result_path"},
            "message": outcome.message, "report": rep.as_dict()}
    marker = RESULT_MARKER + json.dumps({"cluster": outcome.cluster, "target": outcome.target,
                                         "result": outcome.result}, sort_keys=True) + " -->"
    lines = [marker, f"## eks-tfup: {outcome.cluster} {outcome.from_version} → {outcome.target}: {head}", ""]
    if outcome.message:
        lines += [f"> {_inert(outcome.message)}", ""]
    if outcome.result == "failed":
        lines += [f"Continue with `eks-tfup resume --run {outcome.run_id}` after fixing the cause.", ""]
    body = report.render_markdown(rep).split("\n", 1)[1]  # the report's own title repeats ours
    text = "\n".join(lines) + body
    if len(text) > COMMENT_LIMIT:
        text = text[: COMMENT_LIMIT - 80] + "\n\n_… cut: the full report is in result.json_\n"
    write_text_atomic(outcome.plan_dir / RESULT_MD, text)
    write_json_atomic(outcome.plan_dir / RESULT_JSON, data)
    return text
