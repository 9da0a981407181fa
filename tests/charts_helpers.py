"""Local charts for the chart tests, and the helm/helmfile binaries `make tools` installs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TOOLS

HELMFILE = TOOLS / "helmfile"
HELM = TOOLS / "helm"


def write_chart(root: Path, name: str, templates: dict[str, str], *, kube_version: str | None = None) -> Path:
    chart = root / "charts" / name
    (chart / "templates").mkdir(parents=True)
    meta = f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n"
    if kube_version:
        meta += f'kubeVersion: "{kube_version}"\n'
    (chart / "Chart.yaml").write_text(meta)
    for file, text in templates.items():
        (chart / "templates" / file).write_text(text)
    return chart
