"""AccessCatalog: the private bucket with catalog.json and one object per person."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.refs import CatalogRef
from dbaccess import catalog
from dbaccess.iam import people


@dataclass(frozen=True)
class AccessCatalogArgs:
    catalog_json: pulumi.Input[str]
    person_objects: Mapping[str, pulumi.Input[str]]  # email -> people/<email>.json content
    reader_accounts: Sequence[str]  # accounts whose person roles read their own object


class AccessCatalog(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    catalog_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: AccessCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:catalog:AccessCatalog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(f"{name}-bucket", opts=child)
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # SSE-S3, not SSE-KMS with the AWS-managed key: person roles in other accounts must
        # be able to read their object, and the AWS-managed key cannot be shared.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: json.dumps(
                    people.catalog_bucket_policy(arn, args.reader_accounts, catalog.PEOPLE_PREFIX)
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_block]),
        )
        objects = {catalog.CATALOG_KEY: args.catalog_json} | {
            catalog.person_key(email): content for email, content in args.person_objects.items()
        }
        for key, content in objects.items():
            aws.s3.BucketObjectv2(
                f"{name}-{key}",
                bucket=bucket.id,
                key=key,
                content=content,
                content_type="application/json",
                opts=child,
            )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.ref = CatalogRef(bucket.bucket, bucket.arn, catalog.CATALOG_KEY)
        self.catalog_url = self.ref.url
        self.register_outputs({"bucket": self.bucket_name, "catalog_url": self.catalog_url})
