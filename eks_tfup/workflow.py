"""The upgrade procedure: the steps in order, each verified before the next, journaled, resumable.

STEPS is the one place that lists the procedure. Each step is a function `(Run) -> str | None`
(returning a one-line outcome for the report); the journal records it as done only after it
returned. Nothing here knows about Typer: the CLI builds a `Run` and calls `bump` / `resume`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from eks_tfup import checks
from eks_tfup.aws import Aws
from eks_tfup.config import Settings
from eks_tfup.errors import (
    EksTfupError,
    Interrupted,
    RefusedError,
    StepFailed,
    UsageError,
    VerificationError,
)
from eks_tfup.journal import Journal, Lock, latest_run
from eks_tfup.kube import Kube, newly_failing
from eks_tfup.poll import Backoff, wait_for
from eks_tfup.versions import Minor

if TYPE_CHECKING:
    from eks_tfup.helmfile import HelmfileSettings
    from eks_tfup.terraform import Terraform


class Ui(Protocol):
    """How the core talks to the person (or CI log) running it; the CLI supplies the implementation."""

    interactive: bool

    def step(self, index: int, total: int, title: str) -> None: ...
    def info(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def line(self, stream: str, text: str) -> None: ...
    def status(self, text: str | None) -> None: ...
    def block(self, text: str) -> None: ...
    def confirm(self, question: str) -> bool: ...
    def results(self, results: list[checks.Result]) -> None: ...


@dataclass
class Run:
    settings: Settings
    ui: Ui
    journal: Journal
    target: Minor
    cluster: str
    yes: bool = False
    aws: Aws = field(init=False)
    kube: Kube = field(init=False)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.aws = Aws(region=self.settings.region, profile=self.settings.profile)
        self.kube = Kube(kubeconfig=self.settings.kubeconfig, context=self.settings.kube_context,
                         retry_timeout=self.settings.timeouts.kube_retry)

    @property
    def run_dir(self) -> Path:
        return self.journal.run_dir

    @property
    def state(self) -> dict[str, Any]:
        return self.journal.state

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.state.setdefault("warnings", [])
        if text not in self.state["warnings"]:
            self.state["warnings"].append(text)
        self.ui.warn(text)

    def sink(self, stream: str, line: str) -> None:
        self.ui.line(stream, line)


# -- steps ---------------------------------------------------------------------------------------

def step_check(run: Run) -> str:
    from eks_tfup import hcl
    from eks_tfup.gather import gather_facts, make_snapshot

    # An HCL that cannot be read or edited unambiguously stops the run here (HclError, exit 2),
    # before any API call: nothing later could succeed.
    loc = hcl.locate_version(run.settings.tf_dir, address=run.settings.address, var_files=run.settings.var_files)
    run.state["hcl"] = hcl.location_as_dict(loc)
    facts = gather_facts(run.aws, run.kube, run.cluster, run.target, hcl_version=loc.value,
                         hcl_where=f"{_rel(run, loc.file)}:{loc.line}", tf_dir=run.settings.tf_dir)
    results = checks.run_checks(facts, ignore=run.settings.preflight_ignore)
    if not checks.blocking(results):
        results.append(removed_api_result(run))
    run.ui.results(results)
    run.state["checks"] = [r.as_dict() for r in results]
    for r in results:
        if r.status == checks.Status.WARN or (r.status == checks.Status.FAIL and not r.blocking):
            run.warn(f"{r.id}: {r.message}")
    blockers = checks.blocking(results)
    if blockers:
        first = blockers[0]
        more = f" (and {len(blockers) - 1} more)" if len(blockers) > 1 else ""
        raise RefusedError(f"{first.id} {first.message}{more}", hint=first.remediation)
    assert facts.cluster is not None
    run.journal.data["from_version"] = facts.cluster.version
    # The checks passed, so the facts they read are all there: reuse them for the report's "before"
    # column; only the pods (the baseline of "newly failing") are listed again.
    before = make_snapshot(
        facts.cluster,
        facts.nodegroups if facts.nodegroups is not None else run.aws.nodegroups(run.cluster),
        facts.addons if facts.addons is not None else run.aws.addons(run.cluster),
        facts.nodes if facts.nodes is not None else run.kube.nodes(),
        run.kube.pods())
    run.state["before"] = before.as_dict()
    run.state["baseline_failing"] = dict(before.failing_pods)
    return f"{sum(r.status == checks.Status.PASS for r in results)} checks passed, {len(run.warnings)} warning(s)"


def helmfile_settings(s: Settings) -> HelmfileSettings:
    from eks_tfup.helmfile import HelmfileSettings

    return HelmfileSettings(
        helmfile_bin=s.helmfile_bin, helm_bin=s.helm_bin, file=s.helmfile_file,
        environment=s.helmfile_environment, selectors=s.helmfile_selectors, commands=s.helmfile_commands,
        extra_args=s.helmfile_args, kube_context=s.kube_context or current_context(s.kubeconfig),
        kubeconfig=s.kubeconfig, timeout=s.timeouts.helmfile,
    )


def _helmfile(run: Run, label: str) -> str:
    from eks_tfup.helmfile import run_helmfile_step

    hs = helmfile_settings(run.settings)
    result = run_helmfile_step(hs, run.settings.tf_dir, log_path=run.run_dir / f"{label}.log", sink=run.sink)
    if result.skipped:
        run.ui.info(f"charts: skipped ({result.reason})")
        return f"skipped: {result.reason}"
    _health(run, label)
    return "helmfile " + ", ".join(" ".join(c) for c in hs.commands)


def current_context(kubeconfig: Path | None) -> str | None:
    """The context the kube client resolves, passed explicitly so helmfile acts on the same cluster."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        _, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig) if kubeconfig else None)
    except (ConfigException, OSError):  # the kube client reports a broken kubeconfig clearly
        return None
    return str(active["name"]) if active else None


def removed_api_result(run: Run) -> checks.Result:
    """The charts, Helm releases and live objects scanned for APIs the target removes (API001)."""
    from eks_tfup.charts import check_charts, format_findings
    from eks_tfup.files import write_text_atomic

    chk = check_charts(run.target, settings=helmfile_settings(run.settings), directory=run.settings.tf_dir,
                       api_client=run.kube.api_client, log_path=run.run_dir / "charts-check.log")
    write_text_atomic(run.run_dir / "charts-check.json",
                      format_findings(list(chk.findings), "json", target=run.target))
    return checks.removed_api_check(chk)


def _health(run: Run, label: str) -> None:
    """Nodes still Ready and no pod newly failing (compared with the baseline taken at the check)."""
    nodes = run.kube.nodes()
    not_ready = [n.name for n in nodes if not n.ready]
    if not_ready:
        raise VerificationError(f"after {label}: node(s) not Ready: {', '.join(not_ready[:10])}")
    new = newly_failing(run.state.get("baseline_failing", {}), run.kube.pods())
    if new:
        desc = ", ".join(f"{k} ({v})" for k, v in list(new.items())[:10])
        raise VerificationError(f"after {label}: pod(s) newly failing: {desc}")


def step_refresh_charts(run: Run) -> str:
    return _helmfile(run, "refresh_charts")


def step_edit_hcl(run: Run) -> str:
    from eks_tfup import hcl

    result = hcl.set_version(run.settings.tf_dir, str(run.target), address=run.settings.address,
                             var_files=run.settings.var_files)
    loc = result.location
    run.state["hcl_edit"] = {"file": str(loc.file), "line": loc.line, "old": result.old, "new": result.new,
                             "changed_files": [str(p) for p in result.changed_files]}
    for w in loc.warnings:
        run.warn(w)
    where = f"{_rel(run, loc.file)}:{loc.line}"
    if not result.changed_files:
        return f"already {result.new} at {where}"
    run.ui.info(f"edited {where}: {result.old!r} -> {result.new!r}")
    return f"{result.old} -> {result.new} at {where}"


def _terraform(run: Run) -> Terraform:
    from eks_tfup.terraform import Terraform

    s = run.settings
    # TF_WORKSPACE selects the workspace for every command without a separate `workspace select`.
    env = {"TF_WORKSPACE": s.workspace} if s.workspace else {}
    return Terraform(s.tf_dir, binary=s.terraform_bin, log_path=run.run_dir / "terraform.log", env=env)


def step_plan(run: Run) -> str:
    from eks_tfup import plan as planmod
    from eks_tfup.files import write_json_atomic

    tf = _terraform(run)
    tf.init(sink=run.sink)
    plan_path = run.run_dir / "plan.tfplan"
    tf.plan(out=plan_path, var_files=run.settings.var_files, sink=run.sink)
    plan_json = tf.show_json(plan_path)
    write_json_atomic(run.run_dir / "plan.json", plan_json)
    # After an interrupted apply the control plane may already be on the target: then this plan
    # completes the rest (node groups, add-ons), and that is what a resumed run expects to see.
    completing = bool(run.state.get("control_plane_moved"))
    summary = planmod.analyse(plan_json, target=str(run.target), cluster_address=run.settings.address,
                              allow_destroy=run.settings.allow_destroy, completing=completing)
    run.ui.block(planmod.render_table(summary))
    run.ui.block(planmod.render_diff_text(summary))
    run.state["plan"] = {"file": plan_path.name, "summary_line": planmod.summary_line(summary),
                         "nodegroups": _planned_nodegroups(plan_json)}
    for w in summary.warnings:
        run.warn(w)
    planmod.enforce(summary)
    run.journal.reset("review", "apply")
    return planmod.summary_line(summary)


def _planned_nodegroups(plan_json: dict[str, Any]) -> list[str]:
    """Names of the managed node groups this Terraform manages (verify checks they follow)."""
    names = []
    for rc in plan_json.get("resource_changes", []) or []:
        if rc.get("type") == "aws_eks_node_group" and rc.get("mode", "managed") == "managed":
            change = rc.get("change") or {}
            values = change.get("after") or change.get("before") or {}
            if values.get("node_group_name"):
                names.append(str(values["node_group_name"]))
    return sorted(set(names))


def step_review(run: Run) -> str:
    if run.yes:
        return "approved with --yes"
    if not run.ui.interactive:
        raise UsageError("no terminal to confirm the plan on: pass --yes, or use `eks-tfup plan` / `eks-tfup apply`")
    line = run.state.get("plan", {}).get("summary_line", "")
    if run.ui.confirm(f"Apply this plan to {run.cluster} ({line})?"):
        return "approved interactively"
    _revert_hcl(run)
    run.journal.set_status("declined")
    raise RefusedError("plan not approved: nothing was applied and the HCL edit was reverted")


def _revert_hcl(run: Run) -> None:
    from eks_tfup import hcl

    edit = run.state.get("hcl_edit")
    if edit and edit.get("changed_files"):
        hcl.set_version(run.settings.tf_dir, edit["old"], address=run.settings.address,
                        var_files=run.settings.var_files)


def step_apply(run: Run) -> str:
    tf = _terraform(run)
    plan_path = run.run_dir / run.state.get("plan", {}).get("file", "plan.tfplan")
    if not plan_path.is_file():
        raise StepFailed(f"the saved plan {plan_path} is missing: run `eks-tfup resume` to plan again")
    run.state["apply_started"] = True
    run.journal.save()
    poller = ApplyWatcher(run)
    poller.start()
    try:
        tf.apply(plan_path, sink=run.sink)
    finally:
        poller.stop()
    return f"applied {plan_path.name} in {poller.elapsed():.0f}s"


class ApplyWatcher:
    """A live status line while terraform applies: cluster, update and node group states.

    Polls with backoff (0.5 s growing to the configured cap) and resets the backoff whenever
    something changes, so a 40-minute apply costs a few calls a minute yet a transition shows
    within a second or two.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="apply-watcher", daemon=True)
        self._t0 = time.monotonic()
        self._phase_t0 = self._t0
        self._last = ""
        self.aws = Aws(region=run.settings.region, profile=run.settings.profile)  # own clients: thread safety

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.run.ui.status(None)

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def _loop(self) -> None:
        backoff = Backoff(initial=0.5, factor=1.5, cap=self.run.settings.timeouts.poll_max_interval)
        intervals = backoff.intervals()
        while not self._stop.is_set():
            try:
                text = self._describe()
            except EksTfupError as exc:
                text = f"(status unavailable: {exc})"
            if text != self._last:
                self._last = text
                self._phase_t0 = time.monotonic()
                backoff.reset()
                intervals = backoff.intervals()
            total = time.monotonic() - self._t0
            phase = time.monotonic() - self._phase_t0
            self.run.ui.status(f"{text}  [{phase:.0f}s in phase, {total:.0f}s total]")
            self._stop.wait(next(intervals))

    def _describe(self) -> str:
        c = self.aws.describe_cluster(self.run.cluster)
        parts = [f"cluster {c.status} {c.version}"]
        ngs = self.aws.nodegroups(self.run.cluster)
        busy = [f"{ng.name} {ng.status}" for ng in ngs if ng.status != "ACTIVE"]
        if busy:
            parts.append("node groups: " + ", ".join(busy))
        return "; ".join(parts)


def step_verify(run: Run) -> str:
    target = str(run.target)
    cluster = run.aws.describe_cluster(run.cluster)
    if cluster.version != target or cluster.status != "ACTIVE":
        raise VerificationError(f"cluster {run.cluster} is {cluster.status} on {cluster.version}, "
                                f"expected ACTIVE on {target}")
    updates = [u for u in run.aws.cluster_updates(run.cluster)
               if u.type == "VersionUpdate" and u.param("Version") == target]
    if updates and updates[0].status != "Successful":
        errs = "; ".join(f"{e.code}: {e.message}" for e in updates[0].errors)
        raise VerificationError(f"version update {updates[0].id} is {updates[0].status}"
                                + (f": {errs}" if errs else ""))
    managed = set(run.state.get("plan", {}).get("nodegroups", []))
    ngs = run.aws.nodegroups(run.cluster)
    behind = [f"{ng.name} ({ng.version})" for ng in ngs if ng.name in managed and ng.version != target]
    if behind:
        raise VerificationError(f"node group(s) managed here are not on {target}: {', '.join(behind)}")
    for ng in ngs:
        if ng.name not in managed and ng.version != target:
            run.warn(f"node group {ng.name} is not managed in this Terraform and is still on {ng.version}")
    managed_nodes_ok = _wait_nodes(run, managed)
    _check_addons(run)
    _health(run, "the upgrade")
    return f"control plane {target} ACTIVE; {len(ngs)} node group(s); {managed_nodes_ok} node(s) on {target}"


def _wait_nodes(run: Run, managed: set[str]) -> int:
    """Every node Ready; nodes of the node groups managed here on the target kubelet (bounded wait)."""
    def probe() -> int | None:
        nodes = run.kube.nodes()
        pending = [n for n in nodes if not n.ready
                   or (n.nodegroup in managed and Minor.try_parse(n.kubelet_version) != run.target)]
        if pending:
            run.ui.status(f"waiting for {len(pending)} node(s) to be Ready on {run.target}")
            return None
        for n in nodes:
            if n.nodegroup not in managed and Minor.try_parse(n.kubelet_version) != run.target:
                run.warn(f"node {n.name} (not in a node group managed here) runs kubelet {n.kubelet_version}")
        return len(nodes)

    count = wait_for(probe, timeout=run.settings.timeouts.nodes,
                     backoff=Backoff(initial=1.0, cap=run.settings.timeouts.poll_max_interval))
    run.ui.status(None)
    if count is None:
        raise VerificationError(f"nodes not all Ready on {run.target} after {run.settings.timeouts.nodes:.0f}s")
    return count


def _check_addons(run: Run) -> None:
    addons = run.aws.addons(run.cluster)
    if not addons:
        return
    compat = run.aws.addon_versions(str(run.target), [a.name for a in addons])
    for a in addons:
        versions = compat.get(a.name, [])
        if any(v.version == a.version for v in versions):
            continue
        default = next((v.version for v in versions if str(run.target) in v.default_for), None)
        run.warn(f"add-on {a.name} {a.version} is not listed as compatible with {run.target}"
                 + (f": move to {default}" if default else ""))


def step_upgrade_charts(run: Run) -> str:
    return _helmfile(run, "upgrade_charts")


def step_report(run: Run) -> str:
    from eks_tfup import report
    from eks_tfup.gather import snapshot

    after = snapshot(run.aws, run.kube, run.cluster)
    run.state["after"] = after.as_dict()
    run.journal.save()
    rep = report.build(run.journal)
    report.write(rep, run.run_dir)
    run.ui.block(report.render_text(rep))
    return f"report.md and report.json in {_rel(run, run.run_dir)}"


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    fn: Callable[[Run], str | None]


STEPS: tuple[Step, ...] = (
    Step("check", "Check the cluster, nodes and HCL", step_check),
    Step("refresh_charts", "Refresh the charts (helmfile)", step_refresh_charts),
    Step("edit_hcl", "Edit the version in the HCL", step_edit_hcl),
    Step("plan", "Terraform plan", step_plan),
    Step("review", "Review the plan", step_review),
    Step("apply", "Apply the saved plan", step_apply),
    Step("verify", "Verify control plane, node groups, nodes and add-ons", step_verify),
    Step("upgrade_charts", "Re-run the chart upgrades (helmfile)", step_upgrade_charts),
    Step("report", "Report", step_report),
)
STEP_NAMES = tuple(s.name for s in STEPS)


def _rel(run: Run, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(run.settings.tf_dir))
    except ValueError:
        return str(path)


def _execute(run: Run, stop_after: str | None = None) -> Journal:
    total = len(STEPS)
    for i, step in enumerate(STEPS, 1):
        if run.journal.is_done(step.name):
            if step.name == stop_after:
                break
            continue
        run.ui.step(i, total, step.title)
        run.journal.started(step.name)
        try:
            outcome = step.fn(run)
        except (KeyboardInterrupt, Interrupted):
            run.journal.failed(step.name, "interrupted", status="interrupted")
            raise Interrupted(f"interrupted during '{step.name}': run `eks-tfup resume` to continue") from None
        except EksTfupError as exc:
            status = "refused" if isinstance(exc, RefusedError) else "failed"
            if isinstance(exc, RefusedError) and step.name == "plan" and not run.state.get("control_plane_moved"):
                # A refused plan ends the run: put the HCL back so the tree is as the user left it
                # (a later bump would otherwise see the edit as drift). Not once the control plane
                # has moved: then the HCL already tells the truth.
                _revert_hcl(run)
                exc.message += "; the HCL edit was reverted"
            if run.journal.data.get("status") != "declined":
                run.journal.failed(step.name, str(exc), status=status)
            raise
        run.journal.finished(step.name, detail=outcome)
        if step.name == stop_after and i < total:
            run.journal.set_status("paused")
            run.ui.info(f"stopped after '{step.name}' as asked: `eks-tfup resume` continues")
            return run.journal
    run.journal.set_status("done")
    return run.journal


def check_step_name(name: str | None) -> str | None:
    if name is not None and name not in STEP_NAMES:
        raise UsageError(f"unknown step {name!r} (steps: {', '.join(STEP_NAMES)})")
    return name


def bump(settings: Settings, target: Minor, ui: Ui, *, yes: bool = False,
         stop_after: str | None = None) -> Journal:
    cluster = settings.require_cluster()
    check_step_name(stop_after)
    if not yes and not ui.interactive:
        raise UsageError("no terminal to review the plan on: pass --yes to apply without a prompt, "
                         "or use `eks-tfup plan` and `eks-tfup apply --from` for review elsewhere")
    journal = Journal.create(settings.runs_dir, cluster=cluster, target=str(target), kind="bump",
                             meta={"tf_dir": str(settings.tf_dir)})
    lock = _lock(settings, cluster, journal)
    try:
        ui.info(f"run {journal.run_id} ({journal.run_dir})")
        run = Run(settings, ui, journal, target, cluster, yes=yes)
        if lock.taken_over:
            run.warn(lock.taken_over)
        return _execute(run, stop_after)
    finally:
        lock.release()


def bump_hops(settings: Settings, target: Minor, ui: Ui, *, yes: bool = False) -> list[Journal]:
    """Upgrade to `target` one minor at a time: one complete, verified `bump` run per hop.

    EKS refuses to skip a minor and each hop needs its node upgrade before the next, so a jump is a
    sequence of whole runs (check, charts, edit, plan, review, apply, verify, charts, report), each
    with its own journal and report. The path is computed from the control plane's version at the
    start; a hop that fails stops the sequence (resume it, then run the same command again: hops
    already done are not repeated because the path starts from wherever the cluster is).
    """
    from eks_tfup.gather import describe_or_refuse
    from eks_tfup.versions import format_path, hop_path

    cluster = settings.require_cluster()
    aws = Aws(region=settings.region, profile=settings.profile)
    current = Minor.parse(describe_or_refuse(aws, cluster).version)
    if target <= current:
        raise RefusedError(f"cluster {cluster} is on {current}: nothing to do for {target}")
    path = hop_path(current, target)
    ui.info(f"{cluster}: {format_path(path)} ({len(path) - 1} hop(s), each a complete run)")
    journals = []
    for i, hop in enumerate(path[1:], 1):
        ui.info(f"== hop {i}/{len(path) - 1}: {path[i - 1]} -> {hop}")
        journals.append(bump(settings, hop, ui, yes=yes))
    return journals


def _lock(settings: Settings, cluster: str, journal: Journal) -> Lock:
    try:
        return Lock.acquire(settings.state_dir, cluster, journal.run_id)
    except EksTfupError as exc:
        journal.set_status("refused", str(exc))
        raise


def resume(settings: Settings, ui: Ui, *, yes: bool = False, run_id: str | None = None,
           stop_after: str | None = None) -> Journal:
    check_step_name(stop_after)
    cluster = settings.cluster
    if run_id:
        journal = Journal.load(settings.runs_dir / run_id)
    else:
        found = latest_run(settings.runs_dir, cluster=cluster, unfinished=True)
        if found is None:
            raise UsageError(f"no unfinished run to resume in {settings.runs_dir}")
        journal = found
    if journal.data.get("status") == "done":
        raise UsageError(f"run {journal.run_id} is already complete")
    if journal.data.get("status") == "declined":
        raise UsageError(f"run {journal.run_id} was declined at review: start a new `bump`")
    if journal.data.get("kind") == "plan":
        # A plan for review is never continued into an apply: that would skip the review.
        raise UsageError(f"run {journal.run_id} made a plan for review and has nothing to resume: "
                         "run `eks-tfup plan` again")
    if journal.data.get("kind") == "apply" and not journal.is_done("review"):
        # The reviewed plan was not verified against this checkout and the cluster: start over.
        raise UsageError(f"run {journal.run_id} stopped before the reviewed plan was verified: "
                         f"run `eks-tfup apply --from {journal.data.get('plan_dir', 'DIR')}` again")
    cluster = journal.data["cluster"]
    target = Minor.parse_target(journal.data["target"])
    lock = Lock.acquire(settings.state_dir, cluster, journal.run_id)
    try:
        run = Run(settings, ui, journal, target, cluster, yes=yes)
        if lock.taken_over:
            run.warn(lock.taken_over)
        ui.info(f"resuming run {journal.run_id} from its journal")
        _reverify(run)
        journal.set_status("running")
        return _execute(run, stop_after)
    finally:
        lock.release()


def _reverify(run: Run) -> None:
    """Before continuing, look at the cluster again: what the journal says may be out of date.

    A completed apply is never repeated. An apply that started but did not complete is re-verified
    against EKS: we wait for any update still in progress, then plan again (the saved plan may be
    stale once Terraform wrote state), and the new plan goes through review again.
    """
    j = run.journal
    if j.is_done("apply"):
        return
    cluster = run.aws.describe_cluster(run.cluster)
    from_version = j.data.get("from_version")
    if j.state.get("apply_started"):
        in_progress = [u for u in run.aws.cluster_updates(run.cluster) if u.status == "InProgress"]
        if in_progress:
            run.ui.info(f"an update is still in progress ({in_progress[0].id}): waiting for it")

            def probe() -> bool | None:
                u = run.aws.describe_update(run.cluster, in_progress[0].id)
                return True if u.status != "InProgress" else None

            if wait_for(probe, timeout=run.settings.timeouts.apply,
                        backoff=Backoff(cap=run.settings.timeouts.poll_max_interval)) is None:
                raise StepFailed(f"update {in_progress[0].id} still in progress after "
                                 f"{run.settings.timeouts.apply:.0f}s")
            cluster = run.aws.describe_cluster(run.cluster)
        run.ui.info(f"the interrupted apply left the control plane on {cluster.version}: planning again")
        j.state["apply_started"] = False
        j.state["control_plane_moved"] = cluster.version == str(run.target)
        j.reset("plan", "review", "apply")
        return
    if from_version and cluster.version != from_version:
        raise RefusedError(f"cluster {run.cluster} moved from {from_version} to {cluster.version} since this run "
                           "started, outside it: start a new `bump`")
