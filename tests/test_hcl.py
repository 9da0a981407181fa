"""Locating and editing the cluster version in Terraform files: the value and chain found, and the exact
bytes written (only the literal's content may change)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eks_tfup.errors import HclError
from eks_tfup.hcl import (
    EditResult,
    VersionLocation,
    find_clusters,
    locate_version,
    location_as_dict,
    set_version,
)

EKS = b'  source  = "terraform-aws-modules/eks/aws"\n  version = "~> 20.0"\n'
VAR = b'variable "cluster_version" {\n  type    = string\n  default = "1.25"\n}\n'


def build(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def edit_and_check(root: Path, new: str, **kwargs: object) -> tuple[VersionLocation, EditResult]:
    """Locate, edit, and assert that the only bytes that changed are the literal's content."""
    before = snapshot(root)
    loc = locate_version(root, **kwargs)  # type: ignore[arg-type]
    result = set_version(root, new, **kwargs)  # type: ignore[arg-type]
    after = snapshot(root)
    name = str(loc.file.relative_to(root))
    old_bytes = before[name]
    assert old_bytes[loc.start:loc.end] == loc.value.encode()
    expected = dict(before)
    expected[name] = old_bytes[: loc.start] + new.encode() + old_bytes[loc.end:]
    assert after == expected
    assert result.old == loc.value and result.new == new
    assert result.changed_files == (loc.file,)
    assert result.location.value == new
    assert locate_version(root, **kwargs).value == new  # type: ignore[arg-type]
    return loc, result


def chain_of(loc: VersionLocation) -> list[tuple[str, str, str, int]]:
    return [(link.kind, link.address, link.file.name, link.line) for link in loc.chain]


# --- where the value lives -------------------------------------------------------------------------


def test_literal_in_module(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.28"\n}\n'})
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert (loc.cluster_address, loc.value, loc.file.name, loc.line) == ("module.eks", "1.28", "main.tf", 4)
    assert chain_of(loc) == [("module_input", "module.eks.cluster_version", "main.tf", 4)]
    assert loc.chain[0].expression == '"1.28"'
    assert (tmp_path / "main.tf").read_bytes().endswith(b'  cluster_version = "1.29"\n}\n')


def test_var_via_terraform_tfvars(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n",
        "variables.tf": VAR,
        "terraform.tfvars": b'region          = "eu-west-1"\ncluster_version = "1.28"\n',
    })
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert loc.value == "1.28"
    assert chain_of(loc) == [
        ("module_input", "module.eks.cluster_version", "main.tf", 4),
        ("variable_value", "var.cluster_version", "terraform.tfvars", 2),
    ]
    assert loc.warnings == ()
    # The default (lower precedence) is left alone.
    assert b'default = "1.25"' in (tmp_path / "variables.tf").read_bytes()


def test_lexically_last_auto_tfvars_wins(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n" + VAR,
        "terraform.tfvars": b'cluster_version = "1.26"\n',
        "a.auto.tfvars": b'cluster_version = "1.27"\n',
        "b.auto.tfvars": b'cluster_version = "1.28"\n',
    })
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert (loc.file.name, loc.value) == ("b.auto.tfvars", "1.28")
    assert (tmp_path / "a.auto.tfvars").read_bytes() == b'cluster_version = "1.27"\n'
    # The values it overrides are stale after the edit: the user is told.
    assert any("a.auto.tfvars:1" in w for w in loc.warnings)
    assert any("terraform.tfvars:1" in w for w in loc.warnings)


def test_last_var_file_wins_over_auto_tfvars(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n" + VAR,
        "z.auto.tfvars": b'cluster_version = "1.26"\n',
        "env/first.tfvars": b'cluster_version = "1.27"\n',
        "env/second.tfvars": b'# prod\ncluster_version = "1.28"\n',
    })
    var_files = [Path("env/first.tfvars"), tmp_path / "env" / "second.tfvars"]  # relative and absolute
    loc, _ = edit_and_check(tmp_path, "1.29", var_files=var_files)
    assert (loc.file.name, loc.line, loc.value) == ("second.tfvars", 2, "1.28")
    # Reversed order: the other file wins.
    assert locate_version(tmp_path, var_files=var_files[::-1]).file.name == "first.tfvars"
    with pytest.raises(HclError, match="var file not found"):
        locate_version(tmp_path, var_files=[Path("missing.tfvars")])


def test_variable_default(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n",
                     "variables.tf": VAR})
    loc, _ = edit_and_check(tmp_path, "1.26")
    assert chain_of(loc)[-1] == ("variable_default", "var.cluster_version", "variables.tf", 3)
    assert loc.value == "1.25"


def test_local(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = local.k8s_version\n}\n",
        "locals.tf": b'locals {\n  name        = "demo"\n  k8s_version = "1.28" # pinned\n}\n',
    })
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert chain_of(loc)[-1] == ("local", "local.k8s_version", "locals.tf", 3)


def test_local_that_is_a_variable(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = local.k8s_version\n}\n"
                   b"locals {\n  k8s_version = var.cluster_version\n}\n",
        "variables.tf": VAR,
        "terraform.tfvars": b'cluster_version = "1.28"\n',
    })
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert [link.kind for link in loc.chain] == ["module_input", "local", "variable_value"]
    assert loc.chain[1].expression == "var.cluster_version"


def test_v21_kubernetes_version_with_git_source(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n'
                     b'  source = "git::https://github.com/terraform-aws-modules/terraform-aws-eks.git?ref=v21.0.0"\n'
                     b'  kubernetes_version = "1.30"\n}\n'})
    loc, _ = edit_and_check(tmp_path, "1.31")
    assert loc.chain[0].address == "module.eks.kubernetes_version"


def test_raw_aws_eks_cluster_resource(tmp_path: Path) -> None:
    build(tmp_path, {"eks.tf": b'resource "aws_eks_cluster" "this" {\n  name     = "demo"\n'
                     b'  role_arn = aws_iam_role.cluster.arn\n  version  = "1.28"\n}\n'
                     b'data "aws_eks_cluster" "other" {\n  name = "x"\n}\n'})
    assert find_clusters(tmp_path) == ["aws_eks_cluster.this"]
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert chain_of(loc) == [("resource_attr", "aws_eks_cluster.this.version", "eks.tf", 4)]


def test_local_module_followed_to_the_root_variable(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n  source          = "./modules/eks"\n'
                   b"  cluster_version = var.cluster_version\n}\n",
        "variables.tf": b'variable "cluster_version" {\n  type = string\n}\n',
        "terraform.tfvars": b'cluster_version = "1.28"\n',
        "modules/eks/main.tf": b'resource "aws_eks_cluster" "this" {\n  name    = "demo"\n'
                               b"  version = var.cluster_version\n}\n",
        "modules/eks/variables.tf": b'variable "cluster_version" {\n  default = "1.20"\n}\n',
    })
    assert find_clusters(tmp_path) == ["module.eks"]
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert loc.cluster_address == "module.eks"
    assert chain_of(loc) == [
        ("resource_attr", "module.eks.aws_eks_cluster.this.version", "main.tf", 3),
        ("module_input", "module.eks.cluster_version", "main.tf", 3),
        ("variable_value", "var.cluster_version", "terraform.tfvars", 1),
    ]
    assert loc.chain[0].file == tmp_path / "modules" / "eks" / "main.tf"
    # The full address inside the module is accepted too.
    assert locate_version(tmp_path, address="module.eks.aws_eks_cluster.this").value == "1.29"


def test_local_module_default_used_when_caller_passes_nothing(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n  source = "../infra/modules/eks"\n}\n',
        "../infra/modules/eks/main.tf": b'resource "aws_eks_cluster" "this" {\n  version = var.v\n}\n'
                                        b'variable "v" {\n  default = "1.27"\n}\n',
    })
    loc = locate_version(tmp_path)
    assert chain_of(loc)[-1] == ("variable_default", "module.eks.var.v", "main.tf", 5)
    # A module directory outside the configuration may be shared by other configurations.
    assert any("outside the configuration directory" in w for w in loc.warnings)


# --- bytes kept exactly -----------------------------------------------------------------------------


def test_crlf_file(tmp_path: Path) -> None:
    text = b'module "eks" {\r\n' + EKS.replace(b"\n", b"\r\n") + b'  cluster_version = "1.28"  \r\n}\r\n'
    build(tmp_path, {"main.tf": text})
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert loc.line == 4
    assert (tmp_path / "main.tf").read_bytes() == text.replace(b'"1.28"', b'"1.29"')


def test_tabs_and_aligned_equals(tmp_path: Path) -> None:
    text = (b'module\t"eks"\t{\n\tsource\t\t\t= "terraform-aws-modules/eks/aws"\n'
            b'\tcluster_name\t\t= "demo"\n\tcluster_version\t\t=\t"1.28"\t# keep\n}\n')
    build(tmp_path, {"main.tf": text})
    edit_and_check(tmp_path, "1.29")
    assert (tmp_path / "main.tf").read_bytes() == text.replace(b'"1.28"', b'"1.29"')


def test_comments_mentioning_cluster_version_untouched(tmp_path: Path) -> None:
    text = (b'# cluster_version = "1.26"\n'
            b'module "eks" {\n' + EKS +
            b'  // cluster_version = "1.27"\n'
            b'  /* cluster_version = "1.25"\n     cluster_version = "1.24" */\n'
            b'  cluster_version = "1.28" # cluster_version = "1.23"\n}\n')
    build(tmp_path, {"main.tf": text})
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert (loc.value, loc.line) == ("1.28", 8)
    assert (tmp_path / "main.tf").read_bytes() == text.replace(b'= "1.28"', b'= "1.29"')


def test_non_ascii_comment_and_bom_byte_offsets(tmp_path: Path) -> None:
    text = ("\ufeff# Clúster de producción — ¡no tocar! 🚀\n"
            'module "eks" { # ñ\n  source = "terraform-aws-modules/eks/aws"\n'
            '  /* ü */ cluster_version = "1.28"\n}\n').encode("utf-8")
    build(tmp_path, {"main.tf": text})
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert text[loc.start:loc.end] == b"1.28"
    assert loc.start == text.index(b'"1.28"') + 1  # byte offset, not the character offset
    assert (tmp_path / "main.tf").read_bytes() == text.replace(b'"1.28"', b'"1.29"')


def test_cross_check_with_python_hcl2(tmp_path: Path) -> None:
    import hcl2

    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.28" // was 1.27\n}\n'})
    set_version(tmp_path, "1.29")
    data = hcl2.loads((tmp_path / "main.tf").read_text())
    # python-hcl2 8.x keeps the quotes of labels and strings in its dict form.
    (module,) = (block for key, block in data["module"][0].items() if key.strip('"') == "eks")
    assert module["cluster_version"] == '"1.29"'
    assert (tmp_path / "main.tf").read_text().count("// was 1.27") == 1


# --- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "what"), [
    (b'"${var.major}.29"', "interpolation"),
    (b'coalesce(var.v, "1.28")', "function call"),
    (b'var.prod ? "1.29" : "1.28"', "conditional"),
    (b"1.28", "number"),
    (b'var.versions["prod"]', "index expression"),
])
def test_non_literal_refused_file_untouched(tmp_path: Path, expression: bytes, what: str) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = local.v\n}\n",
        "locals.tf": b"locals {\n  v = " + expression + b"\n}\n",
    })
    before = snapshot(tmp_path)
    with pytest.raises(HclError) as err:
        set_version(tmp_path, "1.29")
    message = str(err.value)
    assert "locals.tf:2" in message and expression.decode() in message and what in message
    assert "module.eks.cluster_version -> local.v" in message
    assert snapshot(tmp_path) == before


def test_non_literal_in_tfvars_refused(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n" + VAR,
                     "terraform.tfvars": b"cluster_version = 1.28\n"})
    with pytest.raises(HclError, match=r"terraform\.tfvars:1: .*`1\.28` \(a number"):
        locate_version(tmp_path)


def test_two_clusters_need_an_address(tmp_path: Path) -> None:
    build(tmp_path, {
        "a.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.28"\n}\n',
        "b.tf": b'resource "aws_eks_cluster" "this" {\n  version = "1.27"\n}\n'
                b'module "eks_b" {\n  source = "registry.terraform.io/terraform-aws-modules/eks/aws"\n'
                b'  cluster_version = "1.26"\n}\n'
                b'module "nodes" {\n  source = "terraform-aws-modules/eks/aws//modules/eks-managed-node-group"\n'
                b'  cluster_version = "1.26"\n}\n',
    })
    assert find_clusters(tmp_path) == ["module.eks", "aws_eks_cluster.this", "module.eks_b"]
    with pytest.raises(HclError, match=r"3 EKS clusters .*: module\.eks, aws_eks_cluster\.this, module\.eks_b"):
        locate_version(tmp_path)
    loc, _ = edit_and_check(tmp_path, "1.28", address="aws_eks_cluster.this")
    assert (loc.file.name, loc.value) == ("b.tf", "1.27")
    with pytest.raises(HclError, match=r"no EKS cluster at address 'module\.nope'"):
        locate_version(tmp_path, address="module.nope")


def test_no_cluster(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n'})
    with pytest.raises(HclError, match=r"no EKS cluster found.*module\.vpc"):
        locate_version(tmp_path)
    assert find_clusters(tmp_path) == []


def test_syntax_error_names_file_and_line_and_writes_nothing(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n",
        "variables.tf": b'variable "cluster_version" {\n  default = "1.28"\n  type = = string\n}\n',
    })
    before = snapshot(tmp_path)
    with pytest.raises(HclError, match=r"variables\.tf:3: HCL syntax error"):
        set_version(tmp_path, "1.29")
    assert snapshot(tmp_path) == before


def test_syntax_error_in_cluster_file(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.28"\n'})
    with pytest.raises(HclError, match=r"main\.tf:\d+: HCL syntax error"):
        find_clusters(tmp_path)


def test_already_at_target_is_a_noop(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.29"\n}\n'})
    mtime = (tmp_path / "main.tf").stat().st_mtime_ns
    result = set_version(tmp_path, "1.29")
    assert result.changed_files == () and result.old == result.new == "1.29"
    assert (tmp_path / "main.tf").stat().st_mtime_ns == mtime


def test_env_var_cannot_be_edited(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n" + VAR})
    with pytest.raises(HclError, match="TF_VAR_cluster_version"):
        locate_version(tmp_path, environ={"TF_VAR_cluster_version": "1.28"})
    # A tfvars file outranks the environment, so then there is nothing to refuse.
    build(tmp_path, {"terraform.tfvars": b'cluster_version = "1.28"\n'})
    assert locate_version(tmp_path, environ={"TF_VAR_cluster_version": "1.27"}).value == "1.28"


def test_tfvars_json(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n" + VAR,
        "terraform.tfvars": b'cluster_version = "1.26"\n',
        "prod.auto.tfvars.json": b'{\r\n  "tags": {"cluster_version": "x"},\r\n  "cluster_version": "1.28"\r\n}\r\n',
    })
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert (loc.file.name, loc.line, loc.chain[-1].expression) == ("prod.auto.tfvars.json", 3, '"1.28"')


def test_same_variable_feeding_two_clusters_warns(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n"
                   b'module "eks_b" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n"
                   b'resource "aws_eks_node_group" "x" {\n  version = var.cluster_version\n}\n' + VAR,
    })
    loc = locate_version(tmp_path, address="module.eks")
    assert any("also sets the version of module.eks_b" in w for w in loc.warnings)
    assert any("main.tf:9" in w and "main.tf:12" in w for w in loc.warnings)  # eks_b and the node group
    assert not any("main.tf:4" in w for w in loc.warnings)  # the use that is the chain itself


def test_override_file_wins(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.27"\n}\n',
                     "main_override.tf": b'module "eks" {\n  cluster_version = "1.28"\n}\n'})
    loc, _ = edit_and_check(tmp_path, "1.29")
    assert (loc.file.name, loc.value) == ("main_override.tf", "1.28")


def test_module_without_version_input(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"}\n"})
    with pytest.raises(HclError, match="sets no cluster_version or kubernetes_version"):
        locate_version(tmp_path)


def test_v21_pin_with_old_input_name_warns(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n  source = "terraform-aws-modules/eks/aws"\n'
                     b'  version = "~> 21.0"\n  cluster_version = "1.30"\n}\n'})
    assert any("kubernetes_version" in w for w in locate_version(tmp_path).warnings)


def test_undeclared_variable(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.nope\n}\n"})
    with pytest.raises(HclError, match=r"main\.tf:4: .*variable 'nope', which is not declared"):
        locate_version(tmp_path)


def test_refuses_to_write_unsafe_text(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.28"\n}\n'})
    with pytest.raises(HclError, match="refusing to write"):
        set_version(tmp_path, '1.29" # x')


def test_location_as_dict(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b'  cluster_version = "1.28"\n}\n'})
    data = location_as_dict(locate_version(tmp_path))
    assert data["cluster"] == "module.eks" and data["value"] == "1.28" and data["line"] == 4
    assert data["chain"] == [{"kind": "module_input", "address": "module.eks.cluster_version",
                              "file": str(tmp_path / "main.tf"), "line": 4, "expression": '"1.28"'}]


def test_local_module_with_two_clusters_uses_full_addresses(tmp_path: Path) -> None:
    build(tmp_path, {
        "main.tf": b'module "platform" {\n  source = "./platform"\n}\n',
        "platform/eks.tf": b'resource "aws_eks_cluster" "blue" {\n  version = "1.28"\n}\n'
                           b'resource "aws_eks_cluster" "green" {\n  version = "1.29"\n}\n',
    })
    assert find_clusters(tmp_path) == ["module.platform.aws_eks_cluster.blue",
                                       "module.platform.aws_eks_cluster.green"]
    loc, _ = edit_and_check(tmp_path, "1.30", address="module.platform.aws_eks_cluster.green")
    assert (loc.line, loc.value) == (5, "1.29")


def test_locals_cycle_and_escapes_refused(tmp_path: Path) -> None:
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = local.a\n}\n"
                     b'locals {\n  a = local.b\n  b = local.a\n  c = "1.2\\u0039"\n}\n'})
    with pytest.raises(HclError, match=r"local\.a refers to itself"):
        locate_version(tmp_path)
    build(tmp_path, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = local.c\n}\n"
                     b'locals {\n  c = "1.2\\u0039"\n}\n'})
    with pytest.raises(HclError, match=r"main\.tf:7: .*escape sequences"):
        locate_version(tmp_path)


def test_json_configuration_refused(tmp_path: Path) -> None:
    build(tmp_path, {"eks.tf.json": b'{"resource": {"aws_eks_cluster": {"this": {"version": "1.28"}}}}\n',
                     "main.tf": b'resource "aws_eks_cluster" "this" {\n  version = "1.28"\n}\n'})
    with pytest.raises(HclError, match=r"eks\.tf\.json: .*JSON syntax"):
        find_clusters(tmp_path)


def test_symlinked_tfvars_edited_through_the_link(tmp_path: Path) -> None:
    shared, conf = tmp_path / "shared", tmp_path / "conf"
    build(shared, {"common.tfvars": b'cluster_version = "1.28"\n'})
    build(conf, {"main.tf": b'module "eks" {\n' + EKS + b"  cluster_version = var.cluster_version\n}\n" + VAR})
    (conf / "terraform.tfvars").symlink_to(shared / "common.tfvars")
    loc = locate_version(conf)
    assert any("outside the configuration directory" in w for w in loc.warnings)
    set_version(conf, "1.29")
    assert (conf / "terraform.tfvars").is_symlink()
    assert (shared / "common.tfvars").read_bytes() == b'cluster_version = "1.29"\n'


def test_precedence_agrees_with_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Terraform itself (embedded 1.15) evaluates the variable: it must pick the file we would edit."""
    from eks_tfup.terraform import Terraform  # a child process: no Go runtime in the test process
    monkeypatch.delenv("TF_VAR_cluster_version", raising=False)
    build(tmp_path, {
        "main.tf": b'variable "cluster_version" {\n  default = "1.20"\n}\n'
                   b'output "v" {\n  value = var.cluster_version\n}\n'
                   b'resource "aws_eks_cluster" "this" {\n  version = var.cluster_version\n}\n',
        "terraform.tfvars": b'cluster_version = "1.21"\n',
        "terraform.tfvars.json": b'{"cluster_version": "1.22"}\n',
        "a.auto.tfvars": b'cluster_version = "1.23"\n',
        "b.auto.tfvars.json": b'{"cluster_version": "1.24"}\n',
        "env/x.tfvars": b'cluster_version = "1.25"\n',
        "env/y.tfvars": b'cluster_version = "1.26"\n',
    })
    # Only the output is planned: the resource block is left out of Terraform's view (no provider here).
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    for p in tmp_path.iterdir():
        if p.is_file():
            data = p.read_bytes()
            (tf_dir / p.name).write_bytes(data.split(b'resource "aws_eks_cluster"')[0])
    tf = Terraform(tf_dir)

    def terraform_value(var_files: list[str]) -> str:
        result = tf.plan(out=tmp_path / "p.tfplan", var_files=[tmp_path / f for f in var_files])
        (line,) = [ln for ln in result.output.splitlines() if "+ v" in ln]
        return line.split("=", 1)[1].strip().strip('"')

    for var_files, remove in [(["env/y.tfvars", "env/x.tfvars"], None), ([], None), ([], "b.auto.tfvars.json"),
                              ([], "a.auto.tfvars"), ([], "terraform.tfvars.json")]:
        if remove:
            (tmp_path / remove).unlink()
            (tf_dir / remove).unlink()
        ours = locate_version(tmp_path, var_files=[Path(f) for f in var_files], environ={}).value
        assert ours == terraform_value(var_files), (var_files, remove)


def test_syntax_error_in_an_unrelated_file_stops_the_edit(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_bytes(b'resource "aws_eks_cluster" "this" {\n  version = "1.28"\n}\n')
    (tmp_path / "other.tf").write_bytes(b'resource "aws_s3_bucket" "b" {\n  bucket = \n')
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(HclError, match=r"other\.tf:\d+"):
        set_version(tmp_path, "1.29")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
