"""`eks-tfup preflight VERSION`: every check of the catalogue, read-only, as text, JSON or Markdown.

Facts are gathered once (AWS and Kubernetes lists concurrently, the chart scan alongside), the
checks run as pure functions over them, and the outcome is a `PreflightReport` that renders itself.
Nothing here changes the cluster or the Terraform directory. Exit code 3 when a required check fails
(with `strict`, a recommended one too), 0 otherwise.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_tfup import checks
from eks_tfup.checks import Level, Result, Status
from eks_tfup.config import Settings
from eks_tfup.errors import EksTfupError, ExitCode, HclError, UsageError
from eks_tfup.versions import Minor, format_path, hop_path

FORMATS = ("text", "json", "markdown")
SCHEMA_VERSION = 1
AREAS = ("control plane", "kubernetes", "network", "nodes", "add-ons", "workloads", "terraform", "client")
_LEVEL_ORDER = {Level.REQUIRED: 0, Level.RECOMMENDED: 1, Level.INFO: 2}
_STATUS_ORDER = {Status.ERROR: 0, Status.FAIL: 1, Status.WARN: 2, Status.PASS: 3, Status.SKIP: 4}
_BAD = (Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class PreflightReport:
    cluster: str
    current: str | None
    target: Minor
    results: tuple[Result, ...]
    terraform_dir: str | None
    seconds: float
    aws_calls: int
    kube_calls: int

    def failing(self, *, strict: bool = False) -> list[Result]:
        """The results that make the exit code 3: required failures, and recommended ones with `strict`."""
        levels = (Level.REQUIRED, Level.RECOMMENDED) if strict else (Level.REQUIRED,)
        return [r for r in self.results if r.status in _BAD and r.level in levels and not r.suppressed]

    def exit_code(self, *, strict: bool = False) -> ExitCode:
        return ExitCode.REFUSED if self.failing(strict=strict) else ExitCode.OK

    @property
    def hop_path(self) -> list[str]:
        current = Minor.try_parse(self.current)
        if current is None or current >= self.target:
            return []
        return [str(m) for m in hop_path(current, self.target)]

    def counts(self) -> dict[str, int]:
        live = [r for r in self.results if not r.suppressed]
        return {
            "required_failing": sum(r.status in _BAD and r.level == Level.REQUIRED for r in live),
            "recommended_failing": sum(r.status in _BAD and r.level == Level.RECOMMENDED for r in live),
            "warnings": sum(r.status == Status.WARN for r in live),
            "suppressed": sum(r.suppressed for r in self.results),
            "passed": sum(r.status == Status.PASS for r in live),
            "skipped": sum(r.status == Status.SKIP for r in live),
        }


def run_preflight(settings: Settings, target: Minor, *, use_terraform: bool, ignore: tuple[str, ...] = (),
                  plan_file: Path | None = None, charts: bool = True) -> PreflightReport:
    """Gather, check, and return the report. `use_terraform`: settings.tf_dir holds the HCL."""
    from eks_tfup import gather
    from eks_tfup.aws import Aws
    from eks_tfup.kube import Kube

    started = time.monotonic()
    cluster_name = settings.require_cluster()
    ignore = tuple(dict.fromkeys((*settings.preflight_ignore, *ignore)))
    aws = Aws(region=settings.region, profile=settings.profile)
    # Read-only and interactive: a cluster that does not answer is reported within a minute rather
    # than retried for the full kube_retry window bump uses to ride out the endpoint switch.
    kube: Kube | None = Kube(kubeconfig=settings.kubeconfig, context=settings.kube_context,
                             retry_timeout=min(settings.timeouts.kube_retry, 30.0))
    kube_error = None
    try:
        assert kube is not None
        api_client = kube.api_client  # built once here: the threads below share it
    except EksTfupError as exc:
        kube, api_client, kube_error = None, None, str(exc)

    hcl_version = hcl_where = hcl_error = None
    plan = None
    if use_terraform:
        hcl_version, hcl_where, hcl_error = _hcl(settings)
        plan = _saved_plan(settings, cluster_name, target, plan_file)
    elif plan_file is not None:
        plan = _plan_from_file(plan_file, target, settings)

    with ThreadPoolExecutor(max_workers=1) as pool:
        # The chart scan renders charts (a helmfile process) and reads Helm releases: it runs beside
        # the fact gathering instead of after it.
        chart_future = pool.submit(_removed_apis, settings, target, api_client, use_terraform) if charts else None
        facts = gather.gather_facts(aws, kube, cluster_name, target, hcl_version=hcl_version, hcl_where=hcl_where,
                                    hcl_error=hcl_error, tf_dir=settings.tf_dir if use_terraform else None,
                                    plan=plan, kube_error=kube_error)
        results = checks.run_checks(facts, ignore=ignore)
        if chart_future is not None:
            api001 = chart_future.result()
            if kube_error and api001.status == Status.PASS:
                api001 = _replace(api001, status=Status.ERROR,
                                  message=f"could not scan Helm releases and live objects: {kube_error}")
            results.append(_replace(api001, suppressed=api001.id in ignore and api001.status in _BAD))
    return PreflightReport(
        cluster=cluster_name, current=facts.cluster.version if facts.cluster else None, target=target,
        results=tuple(results), terraform_dir=str(settings.tf_dir) if use_terraform else None,
        seconds=time.monotonic() - started, aws_calls=aws.calls, kube_calls=kube.calls if kube else 0)


def _replace(result: Result, **changes: Any) -> Result:
    from dataclasses import replace

    return replace(result, **changes)


def _hcl(settings: Settings) -> tuple[str | None, str | None, str | None]:
    from eks_tfup import hcl

    try:
        loc = hcl.locate_version(settings.tf_dir, address=settings.address, var_files=settings.var_files)
    except HclError as exc:
        return None, None, str(exc)
    try:
        where = f"{loc.file.resolve().relative_to(settings.tf_dir.resolve())}:{loc.line}"
    except ValueError:
        where = f"{loc.file}:{loc.line}"
    return loc.value, where, None


def _saved_plan(settings: Settings, cluster: str, target: Minor, plan_file: Path | None) -> checks.PlanFacts | None:
    """The plan given, or the one the last run for this target saved (`eks-tfup bump --stop-after plan`)."""
    from eks_tfup.journal import latest_run

    if plan_file is not None:
        return _plan_from_file(plan_file, target, settings)
    last = latest_run(settings.runs_dir, cluster=cluster)
    if last is None or last.data.get("target") != str(target):
        return None
    path = last.run_dir / "plan.json"
    if not path.is_file():
        return None
    return _plan_from_file(path, target, settings)


def _plan_from_file(path: Path, target: Minor, settings: Settings) -> checks.PlanFacts:
    from eks_tfup.gather import plan_facts

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the plan {path}: {exc}",
                         hint="give the JSON of a plan: terraform show -json plan.tfplan > plan.json") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a Terraform plan in JSON")
    return plan_facts(data, str(path), target, address=settings.address, allow_destroy=settings.allow_destroy)


def _removed_apis(settings: Settings, target: Minor, api_client: Any, use_terraform: bool) -> Result:
    from eks_tfup.charts import check_charts
    from eks_tfup.workflow import helmfile_settings

    try:
        chk = check_charts(target, settings=helmfile_settings(settings) if use_terraform else None,
                           directory=settings.tf_dir if use_terraform else None, api_client=api_client)
    except EksTfupError as exc:
        a = checks.API001
        return Result(a.id, a.level, a.area, a.title, Status.ERROR, f"could not run: {exc}", (), a.remediation, a.doc)
    return checks.removed_api_check(chk)


# -- output ----------------------------------------------------------------------------------------

def ordered(results: tuple[Result, ...] | list[Result]) -> list[Result]:
    """By area (in AREAS order), then required first, then the worst status first."""
    def key(r: Result) -> tuple[int, int, int, str]:
        area = AREAS.index(r.area) if r.area in AREAS else len(AREAS)
        return (area, _LEVEL_ORDER[r.level], _STATUS_ORDER[r.status] if not r.suppressed else 3, r.id)

    return sorted(results, key=key)


def _status_text(r: Result) -> str:
    return "suppressed" if r.suppressed else str(r.status)


def _headline(report: PreflightReport, strict: bool) -> str:
    c = report.counts()
    verdict = "BLOCKED" if report.exit_code(strict=strict) else "ready"
    return (f"{verdict}: {c['required_failing']} required failing, {c['recommended_failing']} recommended failing, "
            f"{c['warnings']} warning(s), {c['passed']} passed, {c['skipped']} skipped, "
            f"{c['suppressed']} suppressed")


def render(report: PreflightReport, fmt: str, *, strict: bool = False) -> str:
    if fmt == "text":
        return render_text(report, strict=strict)
    if fmt == "json":
        return render_json(report, strict=strict)
    if fmt == "markdown":
        return render_markdown(report, strict=strict)
    raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def render_text(report: PreflightReport, *, strict: bool = False) -> str:
    lines = [f"Preflight {report.cluster}: {report.current or '?'} -> {report.target}"]
    if len(report.hop_path) > 2:
        lines.append(f"  one minor at a time: {format_path([Minor.parse(v) for v in report.hop_path])}")
    if report.terraform_dir is None:
        lines.append("  no Terraform directory: the Terraform checks are skipped")
    rows = ordered(report.results)
    widths = (max(len(r.id) for r in rows), len("recommended"), len("suppressed"))
    area = None
    for r in rows:
        if r.area != area:
            area = r.area
            lines += ["", f"{area.upper()}"]
        lines.append(f"  {r.id:<{widths[0]}}  {r.level!s:<{widths[1]}}  {_status_text(r):<{widths[2]}}  "
                     f"{r.title}: {r.message}")
        if r.status in _BAD or (r.status == Status.WARN and r.level != Level.INFO):
            indent = " " * (widths[0] + widths[1] + widths[2] + 8)
            lines.append(f"{indent}fix: {r.remediation} ({r.doc})")
    lines += ["", _headline(report, strict),
              f"{report.seconds:.1f}s, {report.aws_calls} AWS and {report.kube_calls} Kubernetes API calls"]
    return "\n".join(lines) + "\n"


def as_json(report: PreflightReport, *, strict: bool = False) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "cluster": report.cluster,
        "current_version": report.current,
        "target": str(report.target),
        "hop_path": report.hop_path,
        "terraform_dir": report.terraform_dir,
        "strict": strict,
        "exit_code": int(report.exit_code(strict=strict)),
        "summary": report.counts(),
        "checks": [r.as_dict() for r in ordered(report.results)],
        "api_calls": {"aws": report.aws_calls, "kubernetes": report.kube_calls},
        "seconds": round(report.seconds, 3),
    }


def render_json(report: PreflightReport, *, strict: bool = False) -> str:
    return json.dumps(as_json(report, strict=strict), indent=2) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: PreflightReport, *, strict: bool = False) -> str:
    lines = [f"### EKS upgrade preflight: `{report.cluster}` {report.current or '?'} → {report.target}", ""]
    lines.append(f"**{_headline(report, strict)}**")
    if len(report.hop_path) > 2:
        lines += ["", f"One minor at a time: {' → '.join(report.hop_path)}."]
    if report.terraform_dir is None:
        lines += ["", "_No Terraform directory: the Terraform checks are skipped._"]
    rows = ordered(report.results)
    attention = [r for r in rows if r.status in _BAD or r.status == Status.WARN]
    rest = [r for r in rows if r not in attention]
    if attention:
        lines += ["", "| Area | ID | Level | Status | Finding | Remediation |", "|---|---|---|---|---|---|"]
        for r in attention:
            level = f"**{r.level}**" if r.level == Level.REQUIRED and r.status in _BAD and not r.suppressed \
                else str(r.level)
            lines.append(f"| {_md(r.area)} | `{r.id}` | {level} | {_status_text(r)} | {_md(r.title)}: "
                         f"{_md(r.message)} | {_md(r.remediation)} [docs]({r.doc}) |")
    if rest:
        lines += ["", f"<details><summary>{len(rest)} check(s) passed or skipped</summary>", "",
                  "| Area | ID | Status | Check | Finding |", "|---|---|---|---|---|"]
        lines += [f"| {_md(r.area)} | `{r.id}` | {_status_text(r)} | {_md(r.title)} | {_md(r.message)} |"
                  for r in rest]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
