"""Kubernetes minor versions as EKS names them ("1.29"), hop paths and the version-skew policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from eks_tfup.errors import UsageError

_TARGET_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# kubelet reports e.g. "v1.29.3-eks-ae9a62a"; node groups "1.29"; release versions "1.29.3-20240531".
_LOOSE_RE = re.compile(r"^v?(\d+)\.(\d+)(?:[.\-+].*)?$")


@total_ordering
@dataclass(frozen=True)
class Minor:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Minor):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def next(self) -> Minor:
        return Minor(self.major, self.minor + 1)

    def prev(self) -> Minor:
        return Minor(self.major, self.minor - 1)

    def minus(self, other: Minor) -> int:
        """How many minors `self` is above `other` (same major only, as Kubernetes 1.x)."""
        return self.minor - other.minor if self.major == other.major else (self.major - other.major) * 1000

    @classmethod
    def parse_target(cls, text: str) -> Minor:
        """The strict form a user types: `1.29`. `v1.29`, `1.29.3`, `1.x` are usage errors."""
        m = _TARGET_RE.match(text.strip())
        if not m:
            raise UsageError(f"invalid target version {text!r}: give a Kubernetes minor like 1.29 "
                             "(no 'v', no patch)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def parse(cls, text: str) -> Minor:
        """Tolerant form for versions read from APIs: `v1.29.3-eks-abc`, `1.29`, `1.29.3-2024..`."""
        m = _LOOSE_RE.match(text.strip())
        if not m:
            raise ValueError(f"not a Kubernetes version: {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def try_parse(cls, text: str | None) -> Minor | None:
        if not text:
            return None
        try:
            return cls.parse(text)
        except ValueError:
            return None


def hop_path(current: Minor, target: Minor) -> list[Minor]:
    """[current, current+1, ..., target]: the one-minor hops EKS requires."""
    path = [current]
    while path[-1] < target:
        path.append(path[-1].next())
    return path


def format_path(path: list[Minor]) -> str:
    return " -> ".join(str(v) for v in path)


def max_kubelet_skew(control_plane: Minor, kubelet: Minor) -> int:
    """How many minors a kubelet may lag the API server: 3, or 2 when the kubelet is below 1.25."""
    return 2 if kubelet < Minor(1, 25) else 3


def kubelet_skew_ok(control_plane: Minor, kubelet: Minor) -> bool:
    """The Kubernetes skew policy: a kubelet is never newer, and at most n-3 (n-2 below 1.25)."""
    if kubelet > control_plane:
        return False
    return control_plane.minus(kubelet) <= max_kubelet_skew(control_plane, kubelet)
