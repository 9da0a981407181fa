"""Shared fixtures. Tests never touch $HOME: an accidental write there fails the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools" / "bin"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")  # Terraform's version check writes under $HOME
    # Helm keeps caches/config under XDG dirs: point them at a writable place outside $HOME.
    xdg = tmp_path_factory.mktemp("xdg")
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(xdg / var.lower()))
    monkeypatch.setenv("KUBECACHEDIR", str(xdg / "kube-cache"))  # helm's discovery cache
    for var in list(os.environ):
        if var.startswith(("EKS_TFUP_", "AWS_", "KUBECONFIG", "TF_")):
            monkeypatch.delenv(var, raising=False)
    if TOOLS.is_dir():
        monkeypatch.setenv("PATH", f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}")
    yield
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not written, f"the test wrote into $HOME: {written}"


@pytest.fixture(scope="session")
def helm_tools() -> tuple[Path, Path]:
    """helm and helmfile from `make tools`: missing binaries fail the tests rather than skip them."""
    helm, helmfile = TOOLS / "helm", TOOLS / "helmfile"
    if not (helm.is_file() and helmfile.is_file()):
        pytest.fail(f"helm/helmfile missing in {TOOLS}: run `make tools` (scripts/fetch_tools.py)")
    return helm, helmfile
