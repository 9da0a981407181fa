"""Find where a Terraform configuration defines an EKS cluster's Kubernetes version, and edit those bytes.

The version of a cluster is the `cluster_version` (terraform-aws-modules/eks up to v20) or
`kubernetes_version` (v21) input of the eks module, or the `version` of a `resource "aws_eks_cluster"`.
Its value is followed the way Terraform evaluates it: a literal there, or `var.X` (root module: the
`-var-file`s, last given wins; then `*.auto.tfvars[.json]` in lexical order, last wins; then
`terraform.tfvars.json`, `terraform.tfvars`; then `TF_VAR_X`; then the variable's `default`), or
`local.X`, or, inside a local module (`source = "./..."`), the caller's module input. The end of that
chain must be a plain string literal; the edit replaces exactly the bytes between its quotes, so every
other byte of every file (comments, alignment, tabs, CRLF, BOM) is kept.

python-hcl2 is used only to READ: its lark parse tree carries the character offsets of every token.
Its writers (`dumps`, `reconstruct`) are never used because they drop comments and re-format.

What is validated, and what is not (the speed trade-off):
Terraform loads every `.tf` file of a module directory, but parsing all of them with python-hcl2 costs
tens of milliseconds per file, far too slow for a configuration of hundreds of files. So files are
first read as bytes and matched against cheap patterns; only files that can hold part of the answer
are parsed (and so syntax-checked, an error naming file and line):
- files that may declare a cluster: a `resource "aws_eks_cluster"` or a `module` whose source names
  the eks module or a local path,
- files that may declare a variable or local the chain goes through (`variable "X"`, `locals` + `X`),
- `.tfvars` files that mention the variable, every override file (`override.tf`, `*_override.tf`),
- files referencing a variable or local of the chain (`var.X`, to warn about shared values).
Every other `.tf` file is read but not parsed: a syntax error there is not reported here; Terraform
reports it at plan time, before anything is applied. A block that the patterns miss because of
unusual layout (a block opening after a comment on the same line) is not seen. JSON configuration
(`*.tf.json`) is not parsed: when it may declare something of interest the lookup refuses.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eks_tfup.errors import HclError
from eks_tfup.files import write_bytes_atomic

if TYPE_CHECKING:
    from lark import Token, Tree

__all__ = [
    "EditResult",
    "Link",
    "VersionLocation",
    "find_clusters",
    "locate_version",
    "location_as_dict",
    "set_version",
]


@dataclass(frozen=True)
class Link:
    """One step of the chain from the cluster attribute to the literal that holds the value."""

    kind: str  # "module_input" | "resource_attr" | "variable_value" | "variable_default" | "local" | "env"
    address: str  # "module.eks.cluster_version", "var.cluster_version", "local.k8s_version"
    file: Path
    line: int
    expression: str  # the source text of the expression at this step


@dataclass(frozen=True)
class VersionLocation:
    cluster_address: str  # "module.eks" or "aws_eks_cluster.this"
    file: Path  # where the literal that holds the value is
    line: int
    value: str  # "1.28"
    chain: tuple[Link, ...]  # from the cluster attribute to the literal
    start: int  # byte offsets of the literal's content (without quotes) in `file`
    end: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class EditResult:
    """`location` is the location found again after the write (its `value` is `new`)."""

    location: VersionLocation
    old: str
    new: str
    changed_files: tuple[Path, ...]  # empty when the value was already `new`


# --------------------------------------------------------------------------------------------------
# Recognising the eks module and local modules
# --------------------------------------------------------------------------------------------------

_EKS_REGISTRY_RE = re.compile(
    r"^(?:(?:registry\.terraform\.io|registry\.opentofu\.org)/)?terraform-aws-modules/eks/aws(?:\?.*)?$",
    re.IGNORECASE,
)
# Any git/GitHub form of the repository itself (`git::https://...terraform-aws-eks.git?ref=v20.8.4`,
# `github.com/terraform-aws-modules/terraform-aws-eks?ref=...`, `git@github.com:...`, a mirror).
# A `//modules/...` sub-directory (node groups, karpenter...) is not a cluster, hence no `//` allowed.
_EKS_GIT_RE = re.compile(r"^(?:git::)?[^?]*?[/:]terraform-aws-eks(?:\.git)?/?(?:\?.*)?$", re.IGNORECASE)
_EKS_INPUTS = ("cluster_version", "kubernetes_version")  # v20 and earlier, v21 and later
_MAX_MODULE_DEPTH = 8

# Byte patterns for the prefilter. They only choose which files to parse, so they must match every
# file that really holds such a block (false positives just cost a parse).
_CLUSTER_HINT_RE = re.compile(
    rb'resource[ \t]+"?aws_eks_cluster"?[ \t"{]|terraform-aws-modules/eks|terraform-aws-eks|source\s*=\s*"\.\.?/'
)
_ANY_MODULE_RE = re.compile(rb"(?m)^[ \t]*module[ \t]")
_JSON_CLUSTER_HINT_RE = re.compile(
    rb'aws_eks_cluster|terraform-aws-modules/eks|terraform-aws-eks|"source"\s*:\s*"\.\.?/')
_VERSION_TEXT_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]*$")


def _is_eks_module_source(source: str) -> bool:
    return bool(_EKS_REGISTRY_RE.match(source) or _EKS_GIT_RE.match(source))


def _is_local_source(source: str) -> bool:
    # Terraform's rule: a local path must start with ./ or ../ (anything else is a registry address).
    return source.startswith(("./", "../", ".\\", "..\\"))


def _is_override_file(name: str) -> bool:
    stem = name[: -len(".tf")] if name.endswith(".tf") else name[: -len(".tf.json")]
    return stem == "override" or stem.endswith("_override")


# --------------------------------------------------------------------------------------------------
# Source files and the parse-tree model
# --------------------------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"


class _Source:
    """One file as bytes, decoded on demand; converts python-hcl2's char offsets to byte offsets."""

    def __init__(self, path: Path, data: bytes, display: str) -> None:
        self.path = path
        self.data = data
        self.display = display  # path shown in messages, relative to the configuration directory
        self._text: str | None = None

    @property
    def bom(self) -> int:
        return len(_BOM) if self.data.startswith(_BOM) else 0

    @property
    def text(self) -> str:
        """The decoded text without its BOM (lark positions are offsets into this string)."""
        if self._text is None:
            try:
                self._text = self.data[self.bom:].decode("utf-8")
            except UnicodeDecodeError as exc:
                line = self.data[: exc.start].count(b"\n") + 1
                raise HclError(f"{self.display}:{line}: not valid UTF-8 (Terraform reads UTF-8 only)") from exc
        return self._text

    def byte_offset(self, char_pos: int) -> int:
        # Positions are in characters of the decoded text: a non-ASCII comment before the value shifts
        # the byte offset, and the BOM (stripped before parsing) adds three bytes.
        return self.bom + len(self.text[:char_pos].encode("utf-8"))


@dataclass(frozen=True)
class _Attr:
    name: str
    expr: Tree[Token]
    src: _Source
    line: int

    @property
    def text(self) -> str:
        return self.src.text[self.expr.meta.start_pos:self.expr.meta.end_pos].strip()

    @property
    def where(self) -> str:
        return f"{self.src.display}:{self.line}"


@dataclass(frozen=True)
class _Block:
    type: str
    labels: tuple[str, ...]
    attrs: dict[str, _Attr]
    src: _Source
    line: int

    def merged(self, override: _Block) -> _Block:
        # Terraform's override files replace attributes one by one (nested blocks are not needed here).
        return _Block(self.type, self.labels, {**self.attrs, **override.attrs}, self.src, self.line)


@dataclass(frozen=True)
class _Literal:
    """The end of a chain: a plain string literal, its content's byte span and line."""

    src: _Source
    start: int
    end: int
    value: str
    line: int


def _name_of(node: Tree[Token] | Token) -> str:
    from lark import Token, Tree

    if isinstance(node, Token):
        return str(node)
    if node.data == "string":
        return "".join(str(t) for t in node.scan_values(lambda v: isinstance(v, Token) and v.type != "DBLQUOTE"))
    first = node.children[0]
    return str(first) if isinstance(first, Token) else _name_of(first) if isinstance(first, Tree) else ""


def _parse_body(src: _Source) -> tuple[Tree[Token], list[_Attr | _Block]]:
    """Parse a whole file; a syntax error is an HclError naming the file and line."""
    from hcl2.api import parses_to_tree
    from lark import Tree
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    text = src.text
    try:
        tree = parses_to_tree(text)
    except UnexpectedInput as exc:
        line = exc.line if exc.line > 0 else text.count("\n") + 1
        at_end = exc.pos_in_stream is not None and exc.pos_in_stream >= len(text.rstrip())
        if at_end or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
            line = text.rstrip().count("\n") + 1
            what = "unexpected end of file (a block, bracket or string is not closed)"
        elif isinstance(exc, UnexpectedToken):
            what = f"unexpected {str(exc.token).strip() or 'end of line'!r} (column {exc.column})"
        elif isinstance(exc, UnexpectedCharacters):
            what = f"unexpected character {exc.char!r} (column {exc.column})"
        else:
            what = "unexpected end of file"
        raise HclError(f"{src.display}:{line}: HCL syntax error: {what}") from exc
    except LarkError as exc:
        raise HclError(f"{src.display}: HCL syntax error: {str(exc).splitlines()[0]}") from exc

    def body_items(body: Tree[Token]) -> list[_Attr | _Block]:
        items: list[_Attr | _Block] = []
        for node in body.children:
            if not isinstance(node, Tree):
                continue
            if node.data == "attribute":
                name_node, expr = node.children[0], node.children[2]
                assert isinstance(name_node, Tree) and isinstance(expr, Tree)
                items.append(_Attr(_name_of(name_node), expr, src, node.meta.line))
            elif node.data == "block":
                names: list[str] = []
                attrs: dict[str, _Attr] = {}
                for child in node.children:
                    if isinstance(child, Tree) and child.data == "body":
                        for item in body_items(child):
                            if isinstance(item, _Attr):
                                if item.name in attrs:
                                    # HCL forbids it ("Attribute redefined"): Terraform would refuse too.
                                    raise HclError(f"{item.where}: attribute {item.name!r} is defined twice "
                                                   f"in this block (first at line {attrs[item.name].line})")
                                attrs[item.name] = item
                    elif isinstance(child, Tree) and child.data in ("identifier", "keyword", "string",
                                                                    "literal_value"):
                        names.append(_name_of(child))
                items.append(_Block(names[0], tuple(names[1:]), attrs, src, node.meta.line))
        return items

    body = tree.children[0]
    assert isinstance(body, Tree)
    return tree, body_items(body)


def _describe_expr(expr: Tree[Token]) -> str:
    """Why an expression is not something the chain can follow (for the error message)."""
    from lark import Token, Tree

    node: Tree[Token] = expr
    if node.data == "expr_term" and len(node.children) == 1 and isinstance(node.children[0], Tree):
        node = node.children[0]
    kinds = {
        "conditional": "a conditional expression",
        "function_call": "a function call",
        "binary_op": "an operation",
        "unary_op": "an operation",
        "heredoc_template": "a heredoc",
        "heredoc_template_trim": "a heredoc",
        "tuple": "a list",
        "object": "an object",
        "index_expr_term": "an index expression",
        "for_tuple_expr": "a for expression",
        "for_object_expr": "a for expression",
        "literal_value": "not a string",
    }
    if node.data == "string":
        types = {t.type for t in node.scan_values(lambda v: isinstance(v, Token))}
        what = ("a string with interpolation" if "INTERP_START" in types
                else "a string with a template directive" if "DIRECTIVE_START" in types
                else "a string with escape sequences")
        return f"{what}; only a plain literal like \"1.29\" is edited"
    if node.data in ("float_lit", "int_lit"):
        # Terraform would convert the number to a string, but 1.30 is the number 1.3: editing a number
        # cannot express every minor, so the user is asked to quote it instead of us guessing.
        return "a number, not a string: write it quoted (\"1.29\") so that it can be edited safely"
    return kinds.get(str(node.data), "an expression eks-tfup cannot follow (only literals, var.X and local.X)")


def _as_literal(expr: Tree[Token], src: _Source) -> _Literal | None:
    """The plain string literal `"..."` (no interpolation, directive or escape), else None."""
    from lark import Token, Tree

    if expr.data != "expr_term" or len(expr.children) != 1:
        return None
    string = expr.children[0]
    if not isinstance(string, Tree) or string.data != "string":
        return None
    tokens = [t for t in string.scan_values(lambda v: isinstance(v, Token))]
    quotes = [t for t in tokens if t.type == "DBLQUOTE"]
    parts = [t for t in tokens if t.type != "DBLQUOTE"]
    if len(quotes) != 2 or any(t.type != "STRING_CHARS" or "\\" in t for t in parts):
        return None
    start_char = quotes[0].end_pos
    end_char = quotes[1].start_pos
    assert start_char is not None and end_char is not None
    value = src.text[start_char:end_char]
    return _Literal(src, src.byte_offset(start_char), src.byte_offset(end_char), value, expr.meta.line)


def _as_reference(expr: Tree[Token]) -> tuple[str, str] | None:
    """("var", "x") for exactly `var.x`, ("local", "y") for `local.y`, else None."""
    from lark import Tree

    if expr.data != "expr_term" or len(expr.children) != 1 or not isinstance(expr.children[0], Tree):
        return None
    return _get_attr_reference(expr.children[0])


def _get_attr_reference(node: Tree[Token]) -> tuple[str, str] | None:
    from lark import Tree

    if node.data != "get_attr_expr_term" or len(node.children) != 2:
        return None
    root, attr = node.children
    if not (isinstance(root, Tree) and isinstance(attr, Tree) and len(root.children) == 1):
        return None
    head = root.children[0]
    if not (isinstance(head, Tree) and head.data == "identifier"):
        return None
    kind = _name_of(head)
    if kind not in ("var", "local") or len(attr.children) != 2 or not isinstance(attr.children[1], Tree):
        return None
    return kind, _name_of(attr.children[1])


# --------------------------------------------------------------------------------------------------
# One module directory, read lazily
# --------------------------------------------------------------------------------------------------


class _ModuleDir:
    def __init__(self, ws: _Workspace, path: Path) -> None:
        self.ws = ws
        self.path = path
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise HclError(f"cannot read the Terraform directory {path}: {exc.strerror}") from exc
        # Terraform loads primary files first, then override files in lexical order.
        tf = [n for n in names if n.endswith(".tf") and not n.startswith(".")]
        self.primary = [path / n for n in tf if not _is_override_file(n)]
        self.overrides = [path / n for n in tf if _is_override_file(n)]
        self.json_files = [path / n for n in names if n.endswith(".tf.json") and not n.startswith(".")]

    def items(self, file: Path) -> list[_Attr | _Block]:
        return self.ws.parse(file)[1]

    def matching(self, wanted: _Filter, files: list[Path] | None = None) -> list[Path]:
        return [f for f in (self.primary if files is None else files) if _wants(wanted, self.ws.source(f).data)]

    def refuse_json(self, wanted: _Filter, what: str) -> None:
        for f in self.matching(wanted, self.json_files):
            raise HclError(f"{self.ws.source(f).display}: may define {what} in Terraform JSON syntax, which "
                           "eks-tfup does not read; move it to a .tf file")

    def blocks(self, pattern: _Filter, btype: str) -> list[_Block]:
        """Blocks of `btype` from the files matching `pattern`, with override files merged in."""
        found: list[_Block] = []
        index: dict[tuple[str, ...], int] = {}
        for f in self.matching(pattern):
            for item in self.items(f):
                if isinstance(item, _Block) and item.type == btype and btype != "locals":
                    if item.labels in index:
                        first = found[index[item.labels]]
                        raise HclError(f"{item.src.display}:{item.line}: duplicate {btype} "
                                       f"{' '.join(item.labels)} (also at {first.src.display}:{first.line})")
                    index[item.labels] = len(found)
                    found.append(item)
                elif isinstance(item, _Block) and item.type == btype:
                    found.append(item)
        for f in self.overrides:
            for item in self.items(f):
                if isinstance(item, _Block) and item.type == btype:
                    if btype == "locals":
                        found.append(item)  # later definitions of a local win, see `local()`
                    elif item.labels in index:
                        found[index[item.labels]] = found[index[item.labels]].merged(item)
        return found

    def variable(self, name: str) -> _Block | None:
        pattern = re.compile(rb'variable[ \t]+"?' + re.escape(name.encode()) + rb'"?[ \t{"\r\n]')
        self.refuse_json(re.compile(re.escape(f'"{name}"'.encode())), f"variable {name!r}")
        blocks = [b for b in self.blocks(pattern, "variable") if b.labels == (name,)]
        return blocks[0] if blocks else None

    def local(self, name: str) -> _Attr | None:
        # Two plain searches, not one regex with `[\s\S]*` between them, which backtracks badly.
        named = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
        pattern = (re.compile(rb"(?m)^[ \t]*locals[ \t]*\{"), named)
        self.refuse_json((re.compile(rb'"locals"'), named), f"local {name!r}")
        primary: _Attr | None = None
        override: _Attr | None = None
        for block in self.blocks(pattern, "locals"):
            attr = block.attrs.get(name)
            if attr is None:
                continue
            if block.src.path in self.overrides:
                override = attr
            elif primary is not None:
                raise HclError(f"{attr.where}: duplicate local value {name!r} (also at {primary.where})")
            else:
                primary = attr
        return override or primary

    def references(self, kind: str, name: str) -> list[tuple[_Source, int]]:
        """Where `var.name` / `local.name` is used in this directory: (file, line) of each use."""
        pattern = re.compile(rb"\b" + kind.encode() + rb"\s*\.\s*" + re.escape(name.encode()) + rb"\b")
        uses: list[tuple[_Source, int]] = []
        for f in self.matching(pattern, self.primary + self.overrides):
            tree, _ = self.ws.parse(f)
            # The whole tree, nested blocks and string templates included; comments are not in it.
            for sub in tree.iter_subtrees():
                if sub.data == "get_attr_expr_term" and _get_attr_reference(sub) == (kind, name):
                    uses.append((self.ws.source(f), sub.meta.line))
        return uses


# A prefilter: one pattern, or several that must all be found in the file's bytes.
_Filter = re.Pattern[bytes] | tuple[re.Pattern[bytes], ...]


def _wants(wanted: _Filter, data: bytes) -> bool:
    patterns = wanted if isinstance(wanted, tuple) else (wanted,)
    return all(p.search(data) is not None for p in patterns)


# --------------------------------------------------------------------------------------------------
# Clusters and chains
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """A module instance: the root configuration, or a local module called from its parent."""

    dir: _ModuleDir
    prefix: str  # "" for the root, "module.eks." inside module "eks"
    call: _Block | None = None  # the parent's `module` block that calls this directory
    parent: _Scope | None = None


@dataclass(frozen=True)
class _Cluster:
    address: str  # shown and accepted by `address=`: "module.eks", "aws_eks_cluster.this"
    full_address: str  # also accepted: "module.eks.aws_eks_cluster.this" for one inside a local module
    scope: _Scope  # where the version attribute is evaluated
    block: _Block
    attr_name: str | None  # None: the block sets no version at all
    kind: str  # "module_input" | "resource_attr"
    warnings: tuple[str, ...] = ()


@dataclass
class _Chain:
    cluster: str  # the cluster's address, for messages
    links: list[Link] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    shadowed: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return " -> ".join(link.address for link in self.links)


class _Workspace:
    """Everything one lookup reads; `overlay` replaces file contents (to check an edit before writing)."""

    def __init__(self, tf_dir: Path, var_files: Sequence[Path], environ: Mapping[str, str] | None,
                 overlay: Mapping[Path, bytes] | None = None) -> None:
        self.root = Path(tf_dir)
        if not self.root.is_dir():
            raise HclError(f"not a directory: {self.root}")
        self.var_files = [Path(p) if Path(p).is_absolute() else self.root / p for p in var_files]
        self.environ = os.environ if environ is None else environ
        self.overlay = dict(overlay or {})
        self._sources: dict[Path, _Source] = {}
        self._dirs: dict[Path, _ModuleDir] = {}
        self._parsed: dict[Path, tuple[Tree[Token], list[_Attr | _Block]]] = {}

    # -- files ---------------------------------------------------------------------------------
    def display(self, path: Path) -> str:
        try:
            return os.path.relpath(path, self.root)
        except ValueError:
            return str(path)

    def source(self, path: Path) -> _Source:
        if path not in self._sources:
            if path in self.overlay:
                data = self.overlay[path]
            else:
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise HclError(f"cannot read {self.display(path)}: {exc.strerror}") from exc
            self._sources[path] = _Source(path, data, self.display(path))
        return self._sources[path]

    def parse(self, path: Path) -> tuple[Tree[Token], list[_Attr | _Block]]:
        if path not in self._parsed:
            self._parsed[path] = _parse_body(self.source(path))
        return self._parsed[path]

    def module_dir(self, path: Path) -> _ModuleDir:
        key = Path(os.path.normpath(path))
        if key not in self._dirs:
            self._dirs[key] = _ModuleDir(self, key)
        return self._dirs[key]

    # -- clusters ------------------------------------------------------------------------------
    def clusters(self) -> list[_Cluster]:
        return self._clusters(_Scope(self.module_dir(self.root), ""), 0, notes=[])

    def _clusters(self, scope: _Scope, depth: int, notes: list[str]) -> list[_Cluster]:
        mdir = scope.dir
        mdir.refuse_json(_JSON_CLUSTER_HINT_RE, "an EKS cluster or a module")
        found: list[_Cluster] = []
        items: list[_Block] = []
        for btype in ("resource", "module"):
            items += mdir.blocks(_CLUSTER_HINT_RE, btype)
        items.sort(key=lambda b: (b.src.path, b.line))
        for block in items:
            if block.type == "resource" and block.labels[:1] == ("aws_eks_cluster",) and len(block.labels) == 2:
                addr = f"{scope.prefix}aws_eks_cluster.{block.labels[1]}"
                attr = "version" if "version" in block.attrs else None
                found.append(_Cluster(addr, addr, scope, block, attr, "resource_attr"))
            elif block.type == "module" and len(block.labels) == 1:
                found += self._module_clusters(scope, block, depth, notes)
        return found

    def _module_clusters(self, scope: _Scope, block: _Block, depth: int, notes: list[str]) -> list[_Cluster]:
        addr = f"{scope.prefix}module.{block.labels[0]}"
        source_attr = block.attrs.get("source")
        lit = _as_literal(source_attr.expr, source_attr.src) if source_attr else None
        if lit is None:
            return []  # Terraform requires a literal source; `terraform init` reports it
        source = lit.value
        if _is_eks_module_source(source):
            present = [name for name in _EKS_INPUTS if name in block.attrs]
            if len(present) == 2:
                raise HclError(f"{block.src.display}:{block.line}: {addr} sets both cluster_version and "
                               "kubernetes_version; keep the one its module version knows (v21+: "
                               "kubernetes_version)")
            warnings = _module_version_warnings(addr, block, present[0] if present else None)
            return [_Cluster(addr, addr, scope, block, present[0] if present else None, "module_input",
                             warnings)]
        if not _is_local_source(source):
            notes.append(f"{addr} (source {source!r}, not followed)")
            return []
        child_path = scope.dir.path / source
        if not child_path.is_dir():
            notes.append(f"{addr} (source {source!r}: no such directory)")
            return []
        if depth >= _MAX_MODULE_DEPTH:
            raise HclError(f"{block.src.display}:{block.line}: local modules nested deeper than "
                           f"{_MAX_MODULE_DEPTH} levels at {addr} (a module calling itself?)")
        child = _Scope(self.module_dir(child_path), addr + ".", block, scope)
        inner = self._clusters(child, depth + 1, notes)
        if len(inner) == 1:
            # One cluster behind the module call: `module.eks` names it, as a user thinks of it.
            only = inner[0]
            return [_Cluster(addr, only.full_address, only.scope, only.block, only.attr_name, only.kind,
                             only.warnings)]
        return inner

    def pick(self, address: str | None) -> _Cluster:
        notes: list[str] = []
        clusters = self._clusters(_Scope(self.module_dir(self.root), ""), 0, notes)
        if not clusters:
            # An error path, so it may afford parsing every file with a module block: naming the modules
            # that were not followed (a company wrapper around the eks module?) helps the user most.
            root = self.module_dir(self.root)
            for block in root.blocks(_ANY_MODULE_RE, "module"):
                attr = block.attrs.get("source")
                lit = _as_literal(attr.expr, attr.src) if attr else None
                if lit and not _is_local_source(lit.value):
                    notes.append(f"module.{block.labels[0]} (source {lit.value!r}, not followed)")
            extra = f"; modules not searched: {', '.join(dict.fromkeys(notes))}" if notes else ""
            raise HclError(f"no EKS cluster found in {self.root}: no module with source "
                           f"terraform-aws-modules/eks/aws and no resource \"aws_eks_cluster\"{extra}")
        names = ", ".join(c.address for c in clusters)
        if address is None:
            if len(clusters) > 1:
                raise HclError(f"{len(clusters)} EKS clusters in {self.root}: {names}; choose one with --address",
                               hint="for example --address " + clusters[0].address)
            return clusters[0]
        for cluster in clusters:
            if address in (cluster.address, cluster.full_address):
                return cluster
        raise HclError(f"no EKS cluster at address {address!r} in {self.root}; clusters: {names}")

    # -- following the value -------------------------------------------------------------------
    def locate(self, address: str | None) -> tuple[VersionLocation, _Cluster]:
        cluster = self.pick(address)
        literal, chain = self.resolve(cluster)
        warnings = list(cluster.warnings) + chain.shadowed
        warnings += self._shared_warnings(cluster, literal, chain)
        loc = VersionLocation(cluster.address, literal.src.path, literal.line, literal.value,
                              tuple(chain.links), literal.start, literal.end, tuple(warnings))
        return loc, cluster

    def resolve(self, cluster: _Cluster) -> tuple[_Literal, _Chain]:
        block = cluster.block
        if cluster.attr_name is None:
            wanted = "version" if cluster.kind == "resource_attr" else "cluster_version or kubernetes_version"
            raise HclError(f"{block.src.display}:{block.line}: {cluster.address} sets no {wanted}, so its "
                           "version is a default chosen elsewhere; set it explicitly first")
        attr = block.attrs[cluster.attr_name]
        chain = _Chain(cluster.address)
        base = cluster.full_address if cluster.kind == "resource_attr" else cluster.address
        chain.links.append(Link(cluster.kind, f"{base}.{attr.name}", attr.src.path, attr.line, attr.text))
        return self._follow(cluster.scope, attr, chain), chain

    def _follow(self, scope: _Scope, attr: _Attr, chain: _Chain) -> _Literal:
        literal = _as_literal(attr.expr, attr.src)
        if literal is not None:
            return literal
        ref = _as_reference(attr.expr)
        if ref is None:
            raise HclError(f"{attr.where}: the version of {chain.cluster} is "
                           f"`{attr.text}` ({_describe_expr(attr.expr)}); chain: {chain.describe()}")
        kind, name = ref
        key = f"{scope.prefix}{kind}.{name}"
        if key in chain.seen:
            raise HclError(f"{attr.where}: {key} refers to itself ({chain.describe()})")
        chain.seen.add(key)
        if kind == "local":
            local = scope.dir.local(name)
            if local is None:
                raise HclError(f"{attr.where}: `{attr.text}` refers to local {name!r}, which is not defined "
                               f"in {self.display(scope.dir.path)}")
            chain.links.append(Link("local", key, local.src.path, local.line, local.text))
            return self._follow(scope, local, chain)
        decl = scope.dir.variable(name)
        if decl is None:
            raise HclError(f"{attr.where}: `{attr.text}` refers to variable {name!r}, which is not declared "
                           f"in {self.display(scope.dir.path)}")
        if scope.call is not None and scope.parent is not None:
            given = scope.call.attrs.get(name)
            if given is not None:
                chain.links.append(Link("module_input", f"{scope.prefix}{name}", given.src.path, given.line,
                                        given.text))
                return self._follow(scope.parent, given, chain)
        else:
            found = self._root_value(name, key, chain)
            if found is not None:
                return found
        default = decl.attrs.get("default")
        if default is None or _is_null(default.expr):
            raise HclError(f"{decl.src.display}:{decl.line}: {key} has no value: no default and not set "
                           f"{'by the caller ' + scope.prefix.rstrip('.') if scope.call else 'in any .tfvars file'}"
                           f" ({chain.describe()})")
        chain.links.append(Link("variable_default", key, default.src.path, default.line, default.text))
        return self._follow(scope, default, chain)

    def _var_sources(self) -> list[Path]:
        """The root's variable files, highest precedence first (Terraform's order, reversed)."""
        # Terraform's order, lowest first: terraform.tfvars, terraform.tfvars.json, *.auto.tfvars[.json]
        # sorted by name, then each -var-file as given. (TF_VAR_ sits below all of them.)
        names = sorted(os.listdir(self.root))
        defaults = [self.root / n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
        auto = [self.root / n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json"))]
        for f in self.var_files:
            if not f.is_file():
                raise HclError(f"var file not found: {f}")
        ordered: list[Path] = []
        for f in reversed([*defaults, *auto, *self.var_files]):
            # A file loaded twice (an auto file also given as -var-file) counts at its highest rank.
            if all(not os.path.samefile(f, seen) for seen in ordered):
                ordered.append(f)
        return ordered

    def _root_value(self, name: str, key: str, chain: _Chain) -> _Literal | None:
        winner: tuple[_Literal | None, Link, str] | None = None
        for f in self._var_sources():
            hit = self._tfvars_value(f, name)
            if hit is None:
                continue
            if winner is None:
                winner = hit
            else:
                # A stale value left behind in a lower-precedence file is worth knowing about.
                chain.shadowed.append(f"{self.display(hit[1].file)}:{hit[1].line} also sets {name} = "
                                      f"{hit[1].expression} (overridden by {self.display(winner[1].file)}, "
                                      "left unchanged)")
        if winner is None:
            env_name = f"TF_VAR_{name}"
            if env_name in self.environ:
                raise HclError(f"{key} gets its value from the environment variable {env_name}="
                               f"{self.environ[env_name]!r}, which eks-tfup cannot edit; set {name} in a "
                               f".tfvars file (or unset {env_name})")
            return None
        literal, link, why = winner
        chain.links.append(link)
        if literal is None:
            raise HclError(f"{self.display(link.file)}:{link.line}: the value of {key} is `{link.expression}` ({why}); "
                           f"chain: {chain.describe()}")
        return literal

    def _tfvars_value(self, path: Path, name: str) -> tuple[_Literal | None, Link, str] | None:
        """(literal or None if not plain, link, why not plain) for `name` set in one variables file."""
        src = self.source(path)
        if re.search(rb"\b" + re.escape(name.encode()) + rb"\b", src.data) is None:
            return None
        if path.name.endswith(".json"):
            return _json_tfvars_value(src, name)
        hits = [i for i in self.parse(path)[1] if isinstance(i, _Attr) and i.name == name]
        if not hits:
            return None
        if len(hits) > 1:
            raise HclError(f"{hits[1].where}: {name} is set twice in {src.display} (also line {hits[0].line})")
        attr = hits[0]
        link = Link("variable_value", f"var.{name}", src.path, attr.line, attr.text)
        literal = _as_literal(attr.expr, src)
        return literal, link, "" if literal else _describe_expr(attr.expr)

    def _shared_warnings(self, cluster: _Cluster, literal: _Literal, chain: _Chain) -> list[str]:
        warnings: list[str] = []
        real = literal.src.path.resolve()
        if not real.is_relative_to(self.root.resolve()):
            warnings.append(f"the value is in {real}, outside the configuration directory: "
                            "other configurations may read the same file")
        others = []
        for other in self._clusters(_Scope(self.module_dir(self.root), ""), 0, notes=[]):
            if other.full_address == cluster.full_address or other.attr_name is None:
                continue
            try:
                lit, _ = self.resolve(other)
            except HclError:
                continue
            if lit.src.path == literal.src.path and lit.start == literal.start:
                others.append(other.address)
        if others:
            warnings.append(f"the same value also sets the version of {', '.join(others)}: editing it upgrades "
                            "those clusters too")
        # Other uses of each variable/local in the chain change along with the cluster.
        chain_spots = {(link.file, link.line) for link in chain.links}
        for link in chain.links[1:]:
            if link.kind not in ("local", "variable_value", "variable_default"):
                continue
            prefix, _, tail = link.address.rpartition(".")
            kind = prefix.rsplit(".", 1)[-1]
            scope_prefix = prefix[: -len(kind)]
            scope = self._scope_for(scope_prefix)
            if scope is None or kind not in ("var", "local"):
                continue
            uses = sorted({f"{src.display}:{line}" for src, line in scope.dir.references(kind, tail)
                           if (src.path, line) not in chain_spots})
            if uses:
                shown = ", ".join(uses[:5]) + (f" and {len(uses) - 5} more" if len(uses) > 5 else "")
                warnings.append(f"{link.address} is also used at {shown}; those uses change too")
        return warnings

    def _scope_for(self, prefix: str) -> _Scope | None:
        scope = _Scope(self.module_dir(self.root), "")
        if not prefix:
            return scope
        parts = prefix.rstrip(".").split(".")
        for i in range(0, len(parts), 2):
            if parts[i] != "module" or i + 1 >= len(parts):
                return None
            call = next((b for b in scope.dir.blocks(_CLUSTER_HINT_RE, "module") if b.labels == (parts[i + 1],)),
                        None)
            src_attr = call.attrs.get("source") if call else None
            lit = _as_literal(src_attr.expr, src_attr.src) if src_attr else None
            if call is None or lit is None or not _is_local_source(lit.value):
                return None
            scope = _Scope(self.module_dir(scope.dir.path / lit.value), scope.prefix + f"module.{parts[i + 1]}.",
                           call, scope)
        return scope


def _is_null(expr: Tree[Token]) -> bool:
    from lark import Tree

    child = expr.children[0] if expr.data == "expr_term" and len(expr.children) == 1 else None
    return isinstance(child, Tree) and child.data == "literal_value" and _name_of(child) == "null"


def _module_version_warnings(addr: str, block: _Block, input_name: str | None) -> tuple[str, ...]:
    """Flag a `cluster_version` given to eks module v21+ (renamed `kubernetes_version` there)."""
    pin = block.attrs.get("version")
    lit = _as_literal(pin.expr, pin.src) if pin else None
    major = re.search(r"\d+", lit.value) if lit else None
    if lit is None or major is None or input_name is None:
        return ()
    expected = "kubernetes_version" if int(major.group()) >= 21 else "cluster_version"
    if input_name != expected:
        return (f"{addr} pins module version {lit.value!r}, whose input is {expected}, not {input_name}",)
    return ()


def _json_tfvars_value(src: _Source, name: str) -> tuple[_Literal | None, Link, str] | None:
    """Find a top-level key of a `.tfvars.json` object with the byte span of its string value."""
    text = src.text
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")

    def skip(i: int) -> int:
        m = ws.match(text, i)
        return m.end() if m else i

    def fail(pos: int, msg: str) -> HclError:
        return HclError(f"{src.display}:{text.count(chr(10), 0, pos) + 1}: invalid JSON: {msg}")

    try:
        i = skip(0)
        if text[i:i + 1] != "{":
            raise fail(i, "a variables file must hold one JSON object")
        i = skip(i + 1)
        found: tuple[_Literal | None, Link, str] | None = None
        while text[i:i + 1] != "}":
            if text[i:i + 1] != '"':
                raise fail(i, "expected a key")
            key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            i = skip(i)
            if text[i:i + 1] != ":":
                raise fail(i, "expected ':'")
            start = skip(i + 1)
            value, end = decoder.raw_decode(text, start)
            line = text.count("\n", 0, start) + 1
            if key == name:
                if found is not None:
                    raise fail(start, f"{name} is set twice")
                raw = text[start:end]
                link = Link("variable_value", f"var.{name}", src.path, line, raw)
                if isinstance(value, str) and raw == f'"{value}"' and "\\" not in raw:
                    found = (_Literal(src, src.byte_offset(start + 1), src.byte_offset(end - 1), value, line),
                             link, "")
                else:
                    found = (None, link, "not a plain JSON string" if not isinstance(value, str | int | float)
                             else "a number, not a string: write it quoted" if not isinstance(value, str)
                             else "a string with escapes")
            i = skip(end)
            if text[i:i + 1] == ",":
                i = skip(i + 1)
        return found
    except (ValueError, IndexError) as exc:
        raise HclError(f"{src.display}: invalid JSON: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def find_clusters(tf_dir: Path) -> list[str]:
    """Addresses of the EKS clusters the configuration in `tf_dir` defines, in file order."""
    return [c.address for c in _Workspace(tf_dir, (), {}).clusters()]


def locate_version(tf_dir: Path, *, address: str | None = None, var_files: Sequence[Path] = (),
                   environ: Mapping[str, str] | None = None) -> VersionLocation:
    """Where the cluster's Kubernetes version is defined, following var./local. to a string literal.

    `var_files` are the `-var-file`s the plan uses (relative to `tf_dir` unless absolute).
    `environ` (default: the process environment) is searched for `TF_VAR_<name>`.
    """
    return _Workspace(tf_dir, var_files, environ).locate(address)[0]


def set_version(tf_dir: Path, version: str, *, address: str | None = None, var_files: Sequence[Path] = (),
                environ: Mapping[str, str] | None = None) -> EditResult:
    """Write `version` into the literal `locate_version` finds; every other byte stays as it was.

    The edit is checked before writing (the same lookup over the edited bytes must find `version` at
    the same place) and after (the file is read back and looked up again); the write is atomic.
    """
    if not _VERSION_TEXT_RE.match(version):
        raise HclError(f"refusing to write {version!r} as a version: only letters, digits and . _ + - are allowed")
    ws = _Workspace(tf_dir, var_files, environ)
    before, cluster = ws.locate(address)
    if before.value == version:
        return EditResult(before, before.value, version, ())
    # Lookups parse only the files that can hold the answer (fast `hcl show`); before writing, every
    # .tf file of every module directory the lookup visited must parse, so a syntax error anywhere
    # stops the edit with its file and line and nothing is written.
    for mdir in list(ws._dirs.values()):
        for tf_file in mdir.primary + mdir.overrides:
            ws.parse(tf_file)
    src = ws.source(before.file)
    data = src.data[: before.start] + version.encode("utf-8") + src.data[before.end:]

    def check(where: _Workspace, stage: str) -> VersionLocation:
        try:
            found = where.locate(cluster.full_address)[0]
        except HclError as exc:
            raise HclError(f"the edit of {src.display} would not read back ({stage}): {exc}") from exc
        if (found.value, found.file, found.start) != (version, before.file, before.start):
            raise HclError(f"the edit of {src.display} did not read back as {version!r} ({stage}): "
                           f"found {found.value!r} at {found.file}:{found.line}")
        return found

    check(_Workspace(tf_dir, var_files, environ, overlay={before.file: data}), "before writing")
    try:
        current = before.file.read_bytes()
    except OSError as exc:
        raise HclError(f"cannot read {src.display}: {exc.strerror}") from exc
    if current != src.data:
        raise HclError(f"{src.display} changed while it was being edited; nothing written")
    # The atomic rename would replace a symlink with a plain file; edit the file it points to instead
    # (a warning from the lookup already says when that file lies outside the configuration).
    target = before.file.resolve() if before.file.is_symlink() else before.file
    write_bytes_atomic(target, data)
    try:
        after = check(_Workspace(tf_dir, var_files, environ), "after writing")
    except HclError:
        write_bytes_atomic(target, src.data)  # put the original back: never leave a bad edit behind
        raise
    return EditResult(after, before.value, version, (before.file,))


def location_as_dict(loc: VersionLocation) -> dict[str, object]:
    """A JSON-ready view of a location, for `hcl show --json`."""
    return {
        "cluster": loc.cluster_address,
        "file": str(loc.file),
        "line": loc.line,
        "value": loc.value,
        "start": loc.start,
        "end": loc.end,
        "chain": [
            {"kind": link.kind, "address": link.address, "file": str(link.file), "line": link.line,
             "expression": link.expression}
            for link in loc.chain
        ],
        "warnings": list(loc.warnings),
    }
