"""db-access guardrails, mandatory on `pulumi preview` and `pulumi up --policy-pack policy`."""

from __future__ import annotations

from collections.abc import Callable

from dbaccess_policies import (
    DEFAULT_TAG_KEY,
    Check,
    bot_runs_locked_down,
    dated_grants_end_in_iam,
    issuer_not_public,
    no_wildcard_database_resources,
    person_policy_names_every_resource,
    person_role_shape,
    production_write_is_temporary,
    request_table_protected,
    role_has_boundary,
)
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

Validate = Callable[[ResourceValidationArgs, ReportViolation], None]


def _validate(check: Check) -> Validate:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, args.props):
            report_violation(message, None)

    return validate


def _validate_person_role(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    tag_key = args.get_config().get("consolemeTagKey", DEFAULT_TAG_KEY)
    for message in person_role_shape(args.resource_type, args.props, tag_key):
        report_violation(message, None)


def _validate_dated_grants(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = ((r.resource_type, r.props) for r in args.resources)
    for message in dated_grants_end_in_iam(resources):
        report_violation(message, None)


PolicyPack(
    name="dbaccess-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="no-wildcard-database-resources",
            description="No rds-db:* or redshift:* statement may name a wildcard resource.",
            validate=_validate(no_wildcard_database_resources),
        ),
        ResourceValidationPolicy(
            name="person-policy-names-every-resource",
            description="A person's database-access policy has no * or ? in any resource.",
            validate=_validate(person_policy_names_every_resource),
        ),
        StackValidationPolicy(
            name="dated-grants-end-in-iam",
            description="Statements naming the login of a dated grant carry DateLessThan "
            "ending by 00:00 UTC the day after its until.",
            validate=_validate_dated_grants,
        ),
        ResourceValidationPolicy(
            name="person-role-shape",
            description="Person roles carry the ConsoleMe tag, live under /dbaccess/ and "
            "have maxSessionDuration <= 3600.",
            validate=_validate_person_role,
            config_schema=PolicyConfigSchema(
                properties={"consolemeTagKey": {"type": "string", "default": DEFAULT_TAG_KEY}}
            ),
        ),
        ResourceValidationPolicy(
            name="role-has-boundary",
            description="Every IAM role carries the db-access permissions boundary.",
            validate=_validate(role_has_boundary),
        ),
        ResourceValidationPolicy(
            name="request-table-protected",
            description="The request table is KMS-encrypted and has point-in-time recovery.",
            validate=_validate(request_table_protected),
        ),
        ResourceValidationPolicy(
            name="issuer-not-public",
            description="No Lambda function URL and no Lambda permission for principal '*'.",
            validate=_validate(issuer_not_public),
        ),
        ResourceValidationPolicy(
            name="bot-runs-locked-down",
            description="Deployments run as non-root with a read-only root filesystem.",
            validate=_validate(bot_runs_locked_down),
        ),
        ResourceValidationPolicy(
            name="production-write-is-temporary",
            description="Read-write grants on production databases carry until and reason "
            "(checked in catalog.json).",
            validate=_validate(production_write_is_temporary),
        ),
    ],
)
