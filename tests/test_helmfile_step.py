"""The chart refresh step, against the real helmfile and helm binaries and local charts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eks_tfup.errors import ConfigError, ProcessError
from eks_tfup.helmfile import (
    HelmfileSettings,
    build_argv,
    error_summary,
    find_helmfile,
    run_helmfile_step,
)
from tests.charts_helpers import HELM, HELMFILE, write_chart

needs_tools = pytest.mark.usefixtures("helm_tools")


CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  kube: "{{ .Capabilities.KubeVersion.Version }}"
"""


def write_helmfile(root: Path, releases: list[tuple[str, str, str]]) -> Path:
    lines = ["releases:"]
    for name, namespace, chart in releases:
        lines += [f"  - name: {name}", f"    namespace: {namespace}", f"    chart: ./charts/{chart}"]
    path = root / "helmfile.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def tools(**kw: object) -> HelmfileSettings:
    return HelmfileSettings(helmfile_bin=str(HELMFILE), helm_bin=str(HELM), **kw)  # type: ignore[arg-type]


# ---- argv (pure) ------------------------------------------------------------------------------

def test_argv_puts_global_flags_before_the_subcommand() -> None:
    settings = HelmfileSettings(helmfile_bin="hf", helm_bin="/opt/helm", environment="prod",
                                selectors=("tier=web", "name=db"), kube_context="arn:aws:eks:x:1:cluster/c",
                                extra_args=("--quiet",))
    argv = build_argv(settings, Path("/tf/helmfile.yaml"), ("apply", "--suppress-secrets"))
    assert argv == ["hf", "--helm-binary", "/opt/helm", "--kube-context", "arn:aws:eks:x:1:cluster/c",
                    "--file", "/tf/helmfile.yaml", "--environment", "prod",
                    "--selector", "tier=web", "--selector", "name=db", "--quiet",
                    "apply", "--suppress-secrets"]


def test_argv_minimal() -> None:
    assert build_argv(HelmfileSettings(), Path("h.yaml"), ("deps",)) == ["helmfile", "--file", "h.yaml", "deps"]


def test_argv_refuses_an_empty_command() -> None:
    with pytest.raises(ConfigError):
        build_argv(HelmfileSettings(), Path("h.yaml"), ())


def test_default_commands_are_deps_then_apply() -> None:
    assert HelmfileSettings().commands == (("deps",), ("apply",))


# ---- finding the state file --------------------------------------------------------------------

def test_find_helmfile_follows_helmfiles_own_order(tmp_path: Path) -> None:
    assert find_helmfile(tmp_path, None) is None
    (tmp_path / "helmfile.d").mkdir()
    assert find_helmfile(tmp_path, None) == tmp_path / "helmfile.d"
    (tmp_path / "helmfile.yaml.gotmpl").write_text("releases: []\n")
    assert find_helmfile(tmp_path, None) == tmp_path / "helmfile.yaml.gotmpl"
    (tmp_path / "helmfile.yaml").write_text("releases: []\n")
    assert find_helmfile(tmp_path, None) == tmp_path / "helmfile.yaml"


def test_find_helmfile_configured(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "helmfile.yaml").write_text("releases: []\n")
    (tmp_path / "other.yaml").write_text("releases: []\n")
    assert find_helmfile(tmp_path, Path("other.yaml")) == tmp_path / "other.yaml"
    assert find_helmfile(tmp_path, Path("deploy")) == tmp_path / "deploy" / "helmfile.yaml"
    assert find_helmfile(tmp_path, tmp_path / "deploy") == tmp_path / "deploy" / "helmfile.yaml"
    # A configured path that does not exist is a mistake to report, not a reason to skip quietly.
    with pytest.raises(ConfigError, match="helmfile not found"):
        find_helmfile(tmp_path, Path("missing.yaml"))


def test_no_helmfile_skips_the_step(tmp_path: Path) -> None:
    result = run_helmfile_step(HelmfileSettings(helmfile_bin="/nonexistent/helmfile"), tmp_path,
                               log_path=tmp_path / "log", sink=None)
    assert result.skipped
    assert result.reason is not None and "skipped" in result.reason
    assert result.commands == ()
    assert not (tmp_path / "log").exists()


def test_error_summary_prefers_helms_error_line() -> None:
    report = ("in ./helmfile.yaml: command \"helm\" exited with non-zero status:\n\nSTDERR:\n"
              "  Error: template: bad/templates/cm.yaml:4:22: nil pointer evaluating interface {}.deep\n"
              "  Use --debug flag to render out invalid YAML\n")
    assert error_summary(report).startswith("Error: template: bad/templates/cm.yaml:4:22")
    panic = "panic: unexpected error: fork/exec /x/helm: no such file\n\ngoroutine 21 [running]:\nmain.go:21\n"
    assert error_summary(panic) == "panic: unexpected error: fork/exec /x/helm: no such file"


# ---- the real binaries ---------------------------------------------------------------------------

@needs_tools
def test_deps_and_template_on_a_local_chart(tmp_path: Path) -> None:
    write_chart(tmp_path, "web", {"cm.yaml": CONFIGMAP})
    write_helmfile(tmp_path, [("web", "apps", "web")])
    lines: list[tuple[str, str]] = []
    settings = tools(commands=(("deps",), ("template", "--kube-version", "1.29.0")),
                     kube_context="not-a-real-context")
    result = run_helmfile_step(settings, tmp_path, log_path=tmp_path / "logs" / "helmfile.log",
                               sink=lambda stream, line: lines.append((stream, line)))
    assert not result.skipped
    assert [c.argv[-1] for c in result.commands] == ["deps", "1.29.0"]
    assert all(c.returncode == 0 and c.seconds > 0 for c in result.commands)
    argv, _seconds, _rc = result.commands[1]  # records unpack as (argv, seconds, returncode)
    assert argv.index("--kube-context") < argv.index("template")
    assert ("out", '  kube: "v1.29.0"') in lines  # streamed live, and rendered for the version asked
    log = (tmp_path / "logs" / "helmfile.log").read_text()
    assert "$ " + str(HELMFILE) in log and "kube: \"v1.29.0\"" in log


@needs_tools
def test_helm_binary_is_the_one_configured(tmp_path: Path) -> None:
    write_chart(tmp_path, "web", {"cm.yaml": CONFIGMAP})
    write_helmfile(tmp_path, [("web", "apps", "web")])
    settings = HelmfileSettings(helmfile_bin=str(HELMFILE), helm_bin=str(tmp_path / "no-such-helm"),
                                commands=(("template", "--skip-deps"),))
    with pytest.raises(ProcessError, match=r"helm binary not found: .*no-such-helm"):
        run_helmfile_step(settings, tmp_path, log_path=tmp_path / "log", sink=None)
    # A helm that exists but is not helm proves helmfile calls the configured binary.
    fake = tmp_path / "fake-helm"
    fake.write_text("#!/bin/sh\necho 'fake helm was called' >&2\nexit 7\n")
    fake.chmod(0o755)
    settings = HelmfileSettings(helmfile_bin=str(HELMFILE), helm_bin=str(fake),
                                commands=(("template", "--skip-deps"),))
    with pytest.raises(ProcessError) as info:
        run_helmfile_step(settings, tmp_path, log_path=tmp_path / "log", sink=None)
    assert "fake helm was called" in info.value.tail or "fake-helm" in str(info.value)


@needs_tools
def test_a_template_error_carries_helms_message(tmp_path: Path) -> None:
    write_chart(tmp_path, "good", {"cm.yaml": CONFIGMAP})
    write_chart(tmp_path, "bad", {"cm.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.deep }}\n"})
    write_helmfile(tmp_path, [("good", "apps", "good"), ("bad", "apps", "bad")])
    settings = tools(commands=(("deps",), ("template",), ("never-reached",)))
    with pytest.raises(ProcessError) as info:
        run_helmfile_step(settings, tmp_path, log_path=tmp_path / "log", sink=None)
    err = info.value
    assert err.returncode not in (0, None)
    assert str(err).startswith("helmfile template failed (exit")
    assert "Error: template: bad/templates/cm.yaml" in str(err)
    assert "nil pointer" in err.tail
    assert "never-reached" not in (tmp_path / "log").read_text()  # stopped at the first failure


@needs_tools
def test_kubeconfig_reaches_helmfile_through_the_environment(tmp_path: Path) -> None:
    write_chart(tmp_path, "web", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                                            "data:\n  kc: {{ .Values.kc | quote }}\n"})
    (tmp_path / "helmfile.yaml.gotmpl").write_text(
        "releases:\n  - name: web\n    chart: ./charts/web\n"
        "    values:\n      - kc: {{ env \"KUBECONFIG\" | quote }}\n")
    kubeconfig = tmp_path / "the-kubeconfig"
    lines: list[str] = []
    settings = tools(commands=(("template", "--skip-deps"),), kubeconfig=kubeconfig)
    run_helmfile_step(settings, tmp_path, log_path=tmp_path / "log", sink=lambda _s, line: lines.append(line))
    assert f'  kc: "{kubeconfig}"' in lines
    assert os.environ.get("KUBECONFIG") != str(kubeconfig)  # our own environment is left alone


@pytest.fixture()
def sandbox_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A running sandbox (local stand-in cluster); skipped where it is not part of the checkout."""
    from eks_tfup.sandbox import control
    info = control.up("removed-apis", tmp_path / "sandbox")
    try:
        yield dict(info.env)
    finally:
        down = getattr(control, "down", None)
        if down is not None:
            down(tmp_path / "sandbox")


@pytest.mark.slow
@needs_tools
def test_sync_installs_the_chart_into_a_cluster(tmp_path: Path, sandbox_env: dict[str, str]) -> None:
    write_chart(tmp_path, "web", {"cm.yaml": CONFIGMAP})
    write_helmfile(tmp_path, [("web-sync", "apps", "web")])
    settings = tools(commands=(("deps",), ("sync",)), kubeconfig=Path(sandbox_env["KUBECONFIG"]))
    result = run_helmfile_step(settings, tmp_path, log_path=tmp_path / "log", sink=None)
    assert [c.returncode for c in result.commands] == [0, 0]
    assert "web-sync" in (tmp_path / "log").read_text()
