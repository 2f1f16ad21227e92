"""GrantReaper: the daily reaper Lambda, its state table, its schedule, and one usage-reader role
per account holding person roles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.refs import CatalogRef, RequestTableRef
from dbaccess import service_env
from dbaccess.iam import documents, services
from dbaccess.issuer import ARCHITECTURE, RUNTIME
from dbaccess.reaper import settings as env
from dbaccess.stack.settings import Expiry

HANDLER = "dbaccess.reaper.handler.lambda_handler"
TIMEOUT_SECONDS = 300  # one GetRole per person and account, one query per person, the DMs
MEMORY_MB = 256
LOG_RETENTION_DAYS = 400  # who was told what, and when


def schedule_expression(run_at: str) -> str:
    """'09:30' -> 'cron(30 9 * * ? *)': daily, in the schedule's own time zone."""
    hours, minutes = run_at.split(":")
    return f"cron({int(minutes)} {int(hours)} * * ? *)"


@dataclass(frozen=True)
class GrantReaperArgs:
    expiry: Expiry
    # account -> the provider that creates that account's usage-reader role
    reader_providers: Mapping[str, pulumi.ProviderResource]
    catalog: CatalogRef
    report_key: str  # the stale-grants report, beside catalog.json
    requests: RequestTableRef
    slack_token_secret_arn: str
    slack_api_url: str | None
    access_contact: str
    code: pulumi.Archive  # the dbaccess code zip, shared with the issuer
    layer_arn: pulumi.Input[str]  # the issuer's layer of third-party wheels
    permissions_boundary: pulumi.Input[str]  # the boundary's ARN in the reaper's account


class GrantReaper(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    table_name: pulumi.Output[str]
    report_url: pulumi.Output[str]
    reader_role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: GrantReaperArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:reaper:GrantReaper", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        table = aws.dynamodb.Table(
            f"{name}-state",
            billing_mode="PAY_PER_REQUEST",
            hash_key=env.KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=env.KEY, type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=env.PURGE_AT, enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=LOG_RETENTION_DAYS, opts=child
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="db-access grant reaper Lambda",
            path=documents.SERVICE_ROLE_PATH,
            assume_role_policy=json.dumps(services.lambda_trust_policy()),
            permissions_boundary=args.permissions_boundary,
            opts=child,
        )
        readers: dict[str, aws.iam.Role] = {}
        for account, provider in sorted(args.reader_providers.items()):
            in_account = pulumi.ResourceOptions(parent=self, provider=provider)
            reader = aws.iam.Role(
                f"{name}-usage-reader-{account}",
                path=documents.SERVICE_ROLE_PATH,
                permissions_boundary=documents.boundary_arn(account),
                description="db-access grant reaper: reads person roles' RoleLastUsed",
                assume_role_policy=role.arn.apply(
                    lambda arn: json.dumps(services.usage_reader_trust_policy(arn))
                ),
                max_session_duration=3600,
                opts=in_account,
            )
            aws.iam.RolePolicy(
                f"{name}-usage-reader-{account}-policy",
                name="read-person-roles",
                role=reader.id,
                policy=json.dumps(services.usage_reader_policy(account)),
                opts=in_account,
            )
            readers[account] = reader
        accounts = sorted(readers)
        catalog_url = args.catalog.url
        report_url = args.catalog.url_of(args.report_key)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name="grant-reaper",
            role=role.id,
            policy=pulumi.Output.all(
                args.requests.arn,
                args.requests.key_arn,
                table.arn,
                args.catalog.bucket_arn,
                logs.arn,
                *(readers[a].arn for a in accounts),
            ).apply(
                lambda arns: json.dumps(
                    services.reaper_policy(
                        usage_reader_role_arns=arns[5:],
                        request_table_arn=arns[0],
                        request_table_key_arn=arns[1],
                        state_table_arn=arns[2],
                        catalog_object_arn=f"{arns[3]}/{args.catalog.key}",
                        report_object_arn=f"{arns[3]}/{args.report_key}",
                        slack_token_secret_arn=args.slack_token_secret_arn,
                        log_group_arn=arns[4],
                    )
                )
            ),
            opts=child,
        )
        variables: dict[str, pulumi.Input[str]] = {
            service_env.CATALOG_URL: catalog_url,
            env.REPORT_URL: report_url,
            service_env.REQUEST_TABLE: args.requests.name,
            env.REAPER_TABLE: table.name,
            service_env.SLACK_TOKEN_SECRET_ARN: args.slack_token_secret_arn,
            env.UNUSED_DAYS: str(args.expiry.unusedDays),
            env.NOTICE_DAYS: ",".join(str(d) for d in args.expiry.noticeDays),
            env.TIMEZONE: args.expiry.timezone,
            env.USAGE_READER_ROLES: pulumi.Output.all(*(readers[a].arn for a in accounts)).apply(
                lambda arns: json.dumps(dict(zip(accounts, arns, strict=True)), sort_keys=True)
            ),
            service_env.ACCESS_CONTACT: args.access_contact,
            "POWERTOOLS_SERVICE_NAME": env.SERVICE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if args.slack_api_url:
            variables[service_env.SLACK_API_URL] = args.slack_api_url
        function = aws.lambda_.Function(
            f"{name}-function",
            description="db-access: daily grant usage, expiry notices, stale-grants.json",
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLER,
            code=args.code,
            layers=[args.layer_arn],
            role=role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=MEMORY_MB,
            # One run at a time: two concurrent runs could both send a notice.
            reserved_concurrent_executions=1,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=logs.name
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            description="EventBridge Scheduler: invokes the db-access grant reaper daily",
            path=documents.SERVICE_ROLE_PATH,
            permissions_boundary=args.permissions_boundary,
            # The reaper runs in the request table's account.
            assume_role_policy=pulumi.Output.from_input(args.requests.arn).apply(
                lambda arn: json.dumps(services.scheduler_trust_policy(arn.split(":")[4]))
            ),
            opts=child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            name="invoke-grant-reaper",
            role=scheduler_role.id,
            policy=function.arn.apply(lambda arn: json.dumps(services.scheduler_policy(arn))),
            opts=child,
        )
        aws.scheduler.Schedule(
            f"{name}-schedule",
            description="db-access grant reaper, daily",
            schedule_expression=schedule_expression(args.expiry.runAt),
            schedule_expression_timezone=args.expiry.timezone,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=function.arn,
                role_arn=scheduler_role.arn,
                input="{}",
                # A failed run is safe to repeat (notices are recorded once sent).
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]),
        )
        self.function_name = function.name
        self.role_arn = role.arn
        self.table_name = table.name
        self.report_url = report_url
        self.reader_role_arns = {a: readers[a].arn for a in accounts}
        self.register_outputs(
            {
                "function_name": self.function_name,
                "role_arn": self.role_arn,
                "table_name": self.table_name,
                "report_url": self.report_url,
                "reader_role_arns": self.reader_role_arns,
            }
        )
