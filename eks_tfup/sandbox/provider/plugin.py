"""Glue between the `tf` plugin framework and our EKS resources.

The framework covers the plugin protocol; three gaps matter for an AWS-like provider and are filled
here rather than patched into the framework:

* Nested blocks: the framework only ships set-nested blocks, while terraform-provider-aws declares
  `vpc_config`, `scaling_config`, ... as lists of at most one element. `ListBlock` declares them
  with the LIST nesting mode so `show -json` and the plan look like the real provider's.
* Plans: the framework only lets a resource adjust an *update* plan, and without its configuration.
  An AWS resource needs the configuration (was `release_version` set, or computed?) and must plan
  creates too (defaults, unknown computed values inside nested blocks), so `Servicer` answers
  PlanResourceChange itself and delegates to `EksResource.plan_change`.
* Destroy plans: the framework advertises `plan_destroy` but rejects the call Terraform then makes.
"""

from __future__ import annotations

import copy
from typing import Any

from tf.blocks import SetNestedBlock
from tf.gen import tfplugin_pb2 as pb
from tf.provider import ProviderServicer, _decode_state, _encode_state
from tf.schema import Attribute, Block, Schema
from tf.types import TfType, Unknown
from tf.utils import Diagnostics, _to_attribute_path, read_dynamic_value, to_dynamic_value

State = dict[str, Any]


class Obj(TfType):  # type: ignore[misc]
    """An object type (`certificate_authority`'s elements): native values, fixed attribute types."""

    def __init__(self, **attrs: TfType) -> None:
        self.attrs = attrs

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def tf_type(self) -> bytes:
        inner = ",".join(f'"{k}":{t.tf_type().decode()}' for k, t in self.attrs.items())
        return f'["object",{{{inner}}}]'.encode()


class ListBlock(SetNestedBlock):  # type: ignore[misc]
    """A list-nested block (`vpc_config { ... }`), usually with max_items=1 as in the real provider."""

    def __init__(self, type_name: str, attributes: list[Attribute], *, min_items: int = 0,
                 max_items: int = 1) -> None:
        super().__init__(type_name, Block(attributes=attributes))
        self.min_items = min_items
        self.max_items = max_items

    def to_pb(self) -> Any:
        return pb.Schema.NestedBlock(
            type_name=self.type_name, block=self.block.to_pb(), min_items=self.min_items,
            max_items=self.max_items, nesting=pb.Schema.NestedBlock.NestingMode.LIST,
        )

    def encode(self, value: Any) -> Any:
        return [] if value is None else super().encode(value)

    def decode(self, value: Any) -> Any:
        return [] if value is None else super().decode(value)

    def semantically_equal(self, a_decoded: Any, b_decoded: Any) -> bool:
        # Order matters in a list; the set comparison of the base class would hide a reorder.
        return bool(a_decoded == b_decoded)


def is_known(value: Any) -> bool:
    return value is not Unknown


def fill_computed(schema_attrs: list[Attribute], blocks: list[ListBlock], state: State,
                  defaults: dict[str, Any]) -> State:
    """Plan a create: computed attributes the configuration leaves null become unknown (or a default)."""
    out = dict(state)
    for a in schema_attrs:
        if out.get(a.name) is None and a.computed:
            out[a.name] = copy.deepcopy(defaults.get(a.name, Unknown))
    for b in blocks:
        items = out.get(b.type_name) or []
        out[b.type_name] = [
            fill_computed(b.block.attributes, [], item, defaults.get(b.type_name, {})) for item in items
        ]
    return out


def merge_planned(planned: Any, observed: Any) -> Any:
    """What apply reports: every value the plan knew, and what AWS says for those it did not.

    Terraform rejects an apply result that contradicts a known planned value ("Provider produced
    inconsistent result"), so only unknowns are taken from the API.
    """
    if planned is Unknown:
        return observed
    if isinstance(planned, dict) and isinstance(observed, dict):
        return {k: merge_planned(v, observed.get(k)) for k, v in planned.items()}
    if isinstance(planned, list) and isinstance(observed, list) and planned and \
            all(isinstance(p, dict) for p in planned):
        return [merge_planned(p, observed[i] if i < len(observed) else {}) for i, p in enumerate(planned)]
    return planned


class EksResource:
    """Base of our resources: schema helpers and the plan hook `Servicer` calls."""

    type_name = ""
    attributes: list[Attribute] = []
    blocks: list[ListBlock] = []
    force_new: frozenset[str] = frozenset()
    create_defaults: dict[str, Any] = {}

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.type_name

    @classmethod
    def get_schema(cls) -> Any:
        return Schema(version=0, attributes=cls.attributes, block_types=cls.blocks)

    def validate(self, diags: Diagnostics, type_name: str, config: State) -> None:
        return None  # Terraform has already checked the configuration against the schema.

    def upgrade(self, ctx: Any, version: int, old: State) -> State:
        # Schema version 0 only: nothing to upgrade (and no "Using default upgrade" warning).
        return old

    def plan_change(self, diags: Diagnostics, prior: State | None, proposed: State,
                    config: State) -> tuple[State, list[str]]:
        """Return the planned state and the attributes whose change forces a replacement."""
        if prior is None:
            planned = fill_computed(self.attributes, self.blocks, proposed, self.create_defaults)
            return self.customize_plan(None, planned, config, set()), []
        changed = {k for k in proposed if k in prior and proposed[k] != prior[k]}
        replace = sorted(changed & self.force_new)
        return self.customize_plan(prior, dict(proposed), config, changed), replace

    def customize_plan(self, prior: State | None, planned: State, config: State,
                       changed: set[str]) -> State:
        return planned

    def full_state(self, values: State) -> State:
        """A state holding every schema attribute (Terraform rejects an object with missing ones)."""
        out: State = {a.name: values.get(a.name) for a in self.attributes}
        for b in self.blocks:
            items = values.get(b.type_name) or []
            out[b.type_name] = [{a.name: item.get(a.name) for a in b.block.attributes} for item in items]
        return out


class Servicer(ProviderServicer):  # type: ignore[misc]
    """The framework's gRPC servicer with plans answered by `EksResource.plan_change`."""

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        diags = Diagnostics()
        type_name = request.type_name
        attrs = self._get_res_attrs(type_name)
        blocks = self._get_res_blocks(type_name)
        _, prior = _decode_state(diags, attrs, blocks, request.prior_state)
        proposed_enc, proposed = _decode_state(diags, attrs, blocks, request.proposed_new_state)
        if diags.has_errors():
            return pb.PlanResourceChange.Response(diagnostics=diags.to_pb())
        if proposed is None:
            # A destroy plan: nothing to adjust.
            return pb.PlanResourceChange.Response(planned_state=to_dynamic_value(None))
        config = read_dynamic_value(request.config) or {}
        inst = self.app.new_resource(self._get_res_cls(type_name))
        planned, replace = inst.plan_change(diags, prior, proposed, config)
        return pb.PlanResourceChange.Response(
            planned_state=_encode_state(attrs, blocks, planned, proposed_enc),
            requires_replace=[_to_attribute_path([k]) for k in replace],
            diagnostics=diags.to_pb(),
        )
