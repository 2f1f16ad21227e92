"""CredentialIssuer: the request table, its stream, the issuer Lambda, its dead letters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.refs import CatalogRef, RequestTableRef
from dbaccess import request_table as rq
from dbaccess import service_env
from dbaccess.iam import documents, services
from dbaccess.issuer import ARCHITECTURE, RUNTIME
from dbaccess.issuer import settings as env

HANDLER = "dbaccess.issuer.handler.lambda_handler"
TIMEOUT_SECONDS = env.LAMBDA_TIMEOUT_SECONDS  # the claims' leases are derived from it
MEMORY_MB = 512  # CPU scales with memory; PBKDF2 per paste is the busiest step
BATCH_SIZE = 10
MAX_RETRIES = 3
MAX_RECORD_AGE_SECONDS = 3600  # a request nobody could serve within an hour is dead-lettered


@dataclass(frozen=True)
class CredentialIssuerArgs:
    person_accounts: Sequence[str]  # accounts whose /dbaccess/ roles the issuer may assume
    catalog: CatalogRef
    privatebin_url: str
    paste_expire: str
    slack_token_secret_arn: str
    slack_api_url: str | None
    access_contact: str
    support_contact: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    audit_retention_days: int
    reserved_concurrency: int
    code: pulumi.Archive  # the dbaccess code zip (scripts/package_issuer.py)
    layer: pulumi.Archive  # the third-party wheels, under python/
    permissions_boundary: pulumi.Input[str]  # the ARN of the account's boundary policy


class CredentialIssuer(pulumi.ComponentResource):
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: CredentialIssuerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:issuer:CredentialIssuer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-key",
            description="db-access credential requests: table, stream and dead letters",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags={documents.STACK_TAG: pulumi.get_stack()},  # the deploy role manages only these
            opts=child,
        )
        table = aws.dynamodb.Table(
            f"{name}-requests",
            billing_mode="PAY_PER_REQUEST",
            hash_key=rq.REQUEST_ID,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=rq.REQUEST_ID, type="S"),
                aws.dynamodb.TableAttributeArgs(name=rq.EMAIL, type="S"),
                aws.dynamodb.TableAttributeArgs(name=rq.REQUESTED_AT, type="S"),
            ],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=rq.EMAIL_INDEX,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=rq.EMAIL, key_type="HASH"
                        ),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=rq.REQUESTED_AT, key_type="RANGE"
                        ),
                    ],
                    projection_type="ALL",
                )
            ],
            stream_enabled=True,
            stream_view_type="NEW_IMAGE",
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=rq.PURGE_AT, enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=key.arn
            ),
            deletion_protection_enabled=True,
            opts=child,
        )
        dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            kms_master_key_id=key.arn,
            message_retention_seconds=14 * 24 * 3600,
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-dead-letters-alarm",
            alarm_description=(
                "Credential requests the issuer could not process (malformed, or the issuer "
                "itself failing): see the issuer's logs for the request ids"
            ),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dead_letters.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=rq.log_retention_days(args.audit_retention_days),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="db-access credential issuer Lambda",
            path=documents.SERVICE_ROLE_PATH,
            assume_role_policy=json.dumps(services.lambda_trust_policy()),
            permissions_boundary=args.permissions_boundary,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name="credential-issuer",
            role=role.id,
            policy=pulumi.Output.all(
                table.arn,
                table.stream_arn,
                args.catalog.bucket_arn,
                key.arn,
                logs.arn,
                dead_letters.arn,
            ).apply(
                lambda arns: json.dumps(
                    services.issuer_policy(
                        person_accounts=args.person_accounts,
                        table_arn=arns[0],
                        stream_arn=arns[1],
                        catalog_object_arn=f"{arns[2]}/{args.catalog.key}",
                        slack_token_secret_arn=args.slack_token_secret_arn,
                        key_arn=arns[3],
                        log_group_arn=arns[4],
                        dead_letter_queue_arn=arns[5],
                        subnet_ids=args.subnet_ids,
                        security_group_ids=args.security_group_ids,
                    )
                )
            ),
            opts=child,
        )
        layer = aws.lambda_.LayerVersion(
            f"{name}-layer",
            layer_name="dbaccess-issuer-dependencies",
            description="Third-party wheels of the db-access credential issuer",
            code=args.layer,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            opts=child,
        )
        variables: dict[str, pulumi.Input[str]] = {
            service_env.REQUEST_TABLE: table.name,
            service_env.CATALOG_URL: args.catalog.url,
            env.PRIVATEBIN_URL: args.privatebin_url,
            env.PASTE_EXPIRE: args.paste_expire,
            service_env.SLACK_TOKEN_SECRET_ARN: args.slack_token_secret_arn,
            service_env.ACCESS_CONTACT: args.access_contact,
            service_env.SUPPORT_CONTACT: args.support_contact,
            env.MAX_ATTEMPTS_VAR: str(rq.MAX_ATTEMPTS),
            "POWERTOOLS_SERVICE_NAME": "dbaccess-issuer",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if args.slack_api_url:
            variables[service_env.SLACK_API_URL] = args.slack_api_url
        function = aws.lambda_.Function(
            f"{name}-function",
            description="db-access: request stream -> credential -> PrivateBin link -> Slack DM",
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLER,
            code=args.code,
            layers=[layer.arn],
            role=role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=MEMORY_MB,
            reserved_concurrent_executions=args.reserved_concurrency,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                security_group_ids=list(args.security_group_ids),
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=logs.name
            ),
            # The VPC attachment is checked against the role's permissions at creation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-stream",
            event_source_arn=table.stream_arn,
            function_name=function.arn,
            starting_position="LATEST",
            batch_size=BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=MAX_RETRIES,
            maximum_record_age_in_seconds=MAX_RECORD_AGE_SECONDS,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=dead_letters.arn
                )
            ),
            filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(
                filters=[
                    aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(
                        pattern=json.dumps(rq.STREAM_FILTER, separators=(",", ":"))
                    )
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.requests = RequestTableRef(table.name, table.arn, key.arn)
        self.table_name = table.name
        self.table_arn = table.arn
        self.table_key_arn = key.arn
        self.layer_arn = layer.arn
        self.role_arn = role.arn
        self.function_name = function.name
        self.dead_letter_queue_url = dead_letters.url
        self.register_outputs(
            {
                "table_name": self.table_name,
                "table_arn": self.table_arn,
                "table_key_arn": self.table_key_arn,
                "role_arn": self.role_arn,
                "function_name": self.function_name,
                "dead_letter_queue_url": self.dead_letter_queue_url,
            }
        )
