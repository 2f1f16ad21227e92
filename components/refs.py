"""Small typed references components hand each other, instead of the same loose fields."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class CatalogRef:
    """Where catalog.json lives: the bucket (name and ARN) and the object key."""

    bucket: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    key: str

    @property
    def url(self) -> pulumi.Output[str]:
        """s3://bucket/key, what the services read."""
        return pulumi.Output.concat("s3://", self.bucket, "/", self.key)

    def url_of(self, key: str) -> pulumi.Output[str]:
        """s3://bucket/<another key> in the same bucket (the reaper's report)."""
        return pulumi.Output.concat("s3://", self.bucket, "/", key)


@dataclass(frozen=True)
class RequestTableRef:
    """The credential-request table: its name, ARN and the KMS key that encrypts it."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
