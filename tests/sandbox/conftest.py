"""Fixtures for the sandbox: a real sandbox process, and an in-process AWS endpoint for fast tests.

`sandbox("healthy-1.28", time_scale=..., faults={...})` starts `python -m eks_tfup.sandbox.server`
through `control.up` and returns its SandboxInfo; every sandbox started is stopped after the test.
`aws_sandbox("healthy-1.28")` serves the AWS API from this process over real HTTP (no Kubernetes
server) and returns an `InProcess` with the state, for tests that move the clock directly.
`aws_client(info_or_inproc, "eks", retries=False)` builds a boto3 client from the sandbox's
environment (a fixture returning the factory).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eks_tfup.sandbox import control
from eks_tfup.sandbox.control import SandboxInfo


@dataclass
class InProcess:
    state: Any  # SandboxState
    url: str
    env: dict[str, str]

    def advance(self, sim_seconds: float) -> None:
        self.state.advance_by(sim_seconds)


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SandboxInfo]]:
    started: list[SandboxInfo] = []

    def start(scenario: str = "healthy-1.28", **kwargs: Any) -> SandboxInfo:
        info = control.up(scenario, tmp_path_factory.mktemp("sandbox"), **kwargs)
        started.append(info)
        return info

    yield start
    for info in started:
        control.down(info.dir)


@pytest.fixture
def aws_sandbox() -> Iterator[Callable[..., InProcess]]:
    from eks_tfup.sandbox import aws_api, scenario
    from eks_tfup.sandbox.server import env_vars
    from eks_tfup.sandbox.state import SandboxState

    servers: list[Any] = []

    def start(name: str = "healthy-1.28", **kwargs: Any) -> InProcess:
        state = SandboxState(scenario.load(name), **kwargs)
        state.kube_url = "https://127.0.0.1:6443"
        server = aws_api.make_server(state)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return InProcess(state, server.url, env_vars(Path("/nonexistent"), server.url, state.region))

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def make_client(target: SandboxInfo | InProcess, service: str, *, retries: bool = True) -> Any:
    """A boto3 client configured only through the sandbox's environment variables."""
    import boto3
    from botocore.config import Config

    env = dict(target.env)
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=env["AWS_DEFAULT_REGION"])
    config = Config(retries={"total_max_attempts": 1} if not retries else {"mode": "standard"})
    return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], config=config)


@pytest.fixture
def aws_client() -> Callable[..., Any]:
    return make_client
