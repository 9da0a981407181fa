from __future__ import annotations

from pathlib import Path

import pytest

from eks_tfup import config
from eks_tfup.errors import ConfigError, ExitCode, UsageError
from eks_tfup.versions import Minor, format_path, hop_path, kubelet_skew_ok


@pytest.mark.parametrize("text", ["v1.29", "1.29.3", "1.x", "1", "", " 1.29a", "01.29", "1.029"])
def test_target_rejects_anything_but_major_minor(text: str) -> None:
    with pytest.raises(UsageError) as exc:
        Minor.parse_target(text)
    assert exc.value.exit_code == ExitCode.USAGE


def test_target_and_tolerant_parse() -> None:
    assert Minor.parse_target("1.29") == Minor(1, 29)
    assert Minor.parse("v1.28.15-eks-7f9249a") == Minor(1, 28)
    assert Minor.parse("1.29.3-20240531") == Minor(1, 29)
    assert Minor.try_parse("garbage") is None


def test_hop_path_and_skew() -> None:
    assert format_path(hop_path(Minor(1, 27), Minor(1, 29))) == "1.27 -> 1.28 -> 1.29"
    assert kubelet_skew_ok(Minor(1, 29), Minor(1, 26))
    assert not kubelet_skew_ok(Minor(1, 29), Minor(1, 25))
    # below 1.25 the kubelet may lag only two minors
    assert kubelet_skew_ok(Minor(1, 25), Minor(1, 23))
    assert not kubelet_skew_ok(Minor(1, 25), Minor(1, 22))
    assert not kubelet_skew_ok(Minor(1, 28), Minor(1, 29))


def test_config_precedence_file_env_flags(tmp_path: Path) -> None:
    (tmp_path / "eks-tfup.toml").write_text(
        'cluster = "from-file"\nregion = "eu-west-1"\nvar_files = ["a.tfvars"]\n'
        '[helmfile]\ncommands = [["deps"], ["sync"]]\n[timeouts]\napply = 60\n')
    s = config.load(tmp_path, env={})
    assert (s.cluster, s.region, s.helmfile_commands) == ("from-file", "eu-west-1", (("deps",), ("sync",)))
    assert s.var_files == (tmp_path.resolve() / "a.tfvars",)
    assert s.timeouts.apply == 60
    s = config.load(tmp_path, env={"EKS_TFUP_CLUSTER": "from-env", "EKS_TFUP_HELMFILE_COMMANDS": "deps;apply"})
    assert s.cluster == "from-env" and s.helmfile_commands == (("deps",), ("apply",))
    s = config.load(tmp_path, env={"EKS_TFUP_CLUSTER": "from-env"}, overrides={"cluster": "from-flag", "region": None})
    assert s.cluster == "from-flag" and s.region == "eu-west-1"


def test_config_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.eks-tfup]\ncluster = "pp"\n')
    assert config.load(tmp_path, env={}).cluster == "pp"


@pytest.mark.parametrize("body,fragment", [
    ('clustr = "x"\n', "unknown setting 'clustr'"),
    ('cluster = 3\n', "expected a non-empty string"),
    ('[helmfile]\ncommands = "deps"\n', "expected a list of commands"),
    ('[timeouts]\napply = -1\n', "timeouts.apply"),
    ('cluster = "x\n', "invalid TOML"),
])
def test_config_errors_are_one_line(tmp_path: Path, body: str, fragment: str) -> None:
    (tmp_path / "eks-tfup.toml").write_text(body)
    with pytest.raises(ConfigError) as exc:
        config.load(tmp_path, env={})
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_cluster_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing setting 'cluster'"):
        config.load(tmp_path, env={}).require_cluster()


def test_template_is_valid_toml(tmp_path: Path) -> None:
    import tomllib

    data = tomllib.loads(config.render_template("demo", "us-east-1", "module.eks"))
    assert data["cluster"] == "demo" and data["address"] == "module.eks"
    (tmp_path / "eks-tfup.toml").write_text(config.render_template("demo", None, None))
    assert config.load(tmp_path, env={}).cluster == "demo"
