"""The provider itself: configuration (region, credentials, default_tags) and the resource list."""

from __future__ import annotations

import os
from typing import Any

from tf.iface import Provider
from tf.schema import Attribute, Schema
from tf.types import Bool, Map, Number, Set, String
from tf.utils import Diagnostics

from eks_tfup.sandbox.provider import aws
from eks_tfup.sandbox.provider.plugin import ListBlock
from eks_tfup.sandbox.provider.resources import Addon, AddonVersion, Cluster, NodeGroup

FULL_NAME = "registry.terraform.io/hashicorp/aws"
CACHE_ENV = "EKS_TFUP_PROVIDER_CACHE"


class AwsProvider(Provider):  # type: ignore[misc]
    def __init__(self) -> None:
        self._client: Any = None
        self.default_tags: dict[str, str] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            raise aws.AwsFailure("the provider was used before it was configured")
        return self._client

    def get_model_prefix(self) -> str:
        return "aws_"

    def full_name(self) -> str:
        return FULL_NAME

    def get_provider_schema(self, diags: Diagnostics) -> Any:
        # The arguments configurations commonly set are accepted; those that only matter to real
        # AWS authentication (profile aside) are accepted and ignored.
        return Schema(version=0, attributes=[
            Attribute("region", String(), optional=True),
            Attribute("profile", String(), optional=True),
            Attribute("access_key", String(), optional=True),
            Attribute("secret_key", String(), optional=True, sensitive=True),
            Attribute("token", String(), optional=True, sensitive=True),
            Attribute("max_retries", Number(), optional=True),
            Attribute("allowed_account_ids", Set(String()), optional=True),
            Attribute("forbidden_account_ids", Set(String()), optional=True),
            Attribute("shared_config_files", Set(String()), optional=True),
            Attribute("shared_credentials_files", Set(String()), optional=True),
            Attribute("skip_credentials_validation", Bool(), optional=True),
            Attribute("skip_metadata_api_check", String(), optional=True),
            Attribute("skip_region_validation", Bool(), optional=True),
            Attribute("skip_requesting_account_id", Bool(), optional=True),
        ], block_types=[ListBlock("default_tags", [Attribute("tags", Map(String()), optional=True)])])

    def validate_config(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        return None

    def configure_provider(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        region = config.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            diags.add_error("Missing required argument",
                            'The argument "region" is required, but no definition was found.')
            return
        for block in config.get("default_tags") or []:
            self.default_tags.update(block.get("tags") or {})
        self._client = aws.make_client(region, config.get("profile"), config.get("access_key"),
                                       config.get("secret_key"), config.get("token"))

    def get_data_sources(self) -> list[type]:
        return [AddonVersion]

    def get_resources(self) -> list[type]:
        return [Cluster, NodeGroup, Addon]


def serve() -> None:
    """Serve the plugin protocol on stdin/stdout as Terraform expects from a provider binary."""
    from pathlib import Path

    import tf.provider
    import tf.runner

    from eks_tfup.sandbox.provider.plugin import Servicer

    # run_provider builds its servicer from this module attribute; ours adds the plan logic.
    tf.provider.ProviderServicer = Servicer
    # The framework caches its TLS certificate under ~/.cache; keep it next to the provider instead
    # so the sandbox leaves the user's home untouched (install() sets the variable).
    cache = os.environ.get(CACHE_ENV)
    if cache:
        def cert_cache_path() -> Path:
            Path(cache).mkdir(parents=True, exist_ok=True)
            return Path(cache) / "ssl_cert.json"

        tf.runner._get_cert_cache_path = cert_cache_path
    tf.runner.run_provider(AwsProvider())
