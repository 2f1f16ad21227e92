"""The least-privilege IAM policies of the deploy role and the preview role, from what the
program declares.

Pure (no Pulumi): `dbaccess iam-policy` runs the program under the mock engine and hands
over each resource it registered and each lookup it made. `RULES` maps a resource type to the
API actions Pulumi's provider calls for it (create, read, update, delete, tags) and the ARN it
acts on; the ARN is scoped to the names the program gives (auto-names are the logical name
plus a random suffix, so `<logical name>-*`; person roles by their path `/dbaccess/`).
A type without a rule is an error, so a new resource type cannot slip past the policy.

The deploy role must not be able to make itself more than the program needs: every role the
program creates carries the permissions boundary `build_policies` also writes (a managed
policy the operator creates once per account); the deploy role may create a role or write its
policies only with that boundary, may never remove it or edit the boundary policy, and
manages only KMS keys tagged with the stack's name.

Each account's role gets its own documents, from the account each resource and lookup is
in: an inline policy holds 10,240 characters, and one document for every account would
outgrow it at a few dozen databases.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from dbaccess.iam.documents import STACK_TAG, boundary_arn

# Pulumi's auto-name: the logical name, a dash, seven random hex digits.
_AUTO_NAME: Final = re.compile(r"(?P<logical>.+)-[0-9a-f]{7}")


@dataclass(frozen=True)
class Declared:
    """One resource the program registered, in the account its provider deploys to."""

    type: str
    name: str  # the logical name
    inputs: Mapping[str, Any]
    account: str


@dataclass(frozen=True)
class Lookup:
    """One data-source call (invoke) the program made, in its provider's account."""

    token: str
    args: Mapping[str, Any]
    account: str


@dataclass(frozen=True)
class Rule:
    """The actions a resource type needs. `arn` is a template over {region}, {account} and
    {name} (the physical name or its pattern); None: the resource is not an AWS one (its
    provider's access is covered by the provider's own rule)."""

    write: tuple[str, ...]
    read: tuple[str, ...]
    arn: str | None
    # Actions whose API takes no resource ARN (AWS only accepts "*" for them).
    unscoped_write: tuple[str, ...] = ()
    unscoped_read: tuple[str, ...] = ()
    # Writes allowed only when the role carries (or is created with) the stack's boundary.
    bounded: tuple[str, ...] = ()
    # The ARN cannot name our resource (random ids): every action only on resources tagged
    # with the stack (aws:ResourceTag); creating (AWS checks it against no resource, "*") and
    # tagging only when the request sets exactly that tag (aws:RequestTag, aws:TagKeys).
    stack_tagged: bool = False
    tagged_create: tuple[str, ...] = ()
    tagging: tuple[str, ...] = ()
    # What the program's own roles do with such a resource when they run: the boundary.
    runtime: tuple[str, ...] = ()


_S3_BUCKET_READ = (
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketWebsite",
    "s3:GetBucketVersioning",
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketLogging",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketTagging",
    "s3:GetBucketPolicy",
    "s3:GetBucketLocation",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
)
_BUCKET = "arn:aws:s3:::{name}"
_ROLE = "arn:aws:iam::{account}:role{name}"  # {name} carries the path

RULES: Final[Mapping[str, Rule]] = {
    "aws:iam/role:Role": Rule(
        write=(
            "iam:DeleteRole",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
            "iam:UpdateAssumeRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
        ),
        read=(
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
            "iam:ListRoleTags",
        ),
        arn=_ROLE,
        bounded=("iam:CreateRole", "iam:PutRolePermissionsBoundary"),
        # The issuer assumes person roles, the reaper the usage readers, which read roles.
        runtime=("sts:AssumeRole", "sts:SetSourceIdentity", "iam:GetRole"),
    ),
    "aws:iam/rolePolicy:RolePolicy": Rule(
        write=("iam:DeleteRolePolicy",),
        read=("iam:GetRolePolicy",),
        arn=_ROLE,
        bounded=("iam:PutRolePolicy",),
    ),
    "aws:s3/bucket:Bucket": Rule(
        write=("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"),
        read=_S3_BUCKET_READ,
        arn=_BUCKET,
    ),
    "aws:s3/bucketPolicy:BucketPolicy": Rule(
        write=("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
        read=("s3:GetBucketPolicy",),
        arn=_BUCKET,
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Rule(
        write=("s3:PutBucketPublicAccessBlock",),
        read=("s3:GetBucketPublicAccessBlock",),
        arn=_BUCKET,
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Rule(
        write=("s3:PutEncryptionConfiguration",),
        read=("s3:GetEncryptionConfiguration",),
        arn=_BUCKET,
    ),
    "aws:s3/bucketVersioning:BucketVersioning": Rule(
        write=("s3:PutBucketVersioning",),
        read=("s3:GetBucketVersioning",),
        arn=_BUCKET,
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": Rule(
        write=("s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"),
        read=("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectAcl"),
        # Every object of the bucket: the role writes the bucket policy, which could grant it
        # any object anyway (parliament: RESOURCE_POLICY_PRIVILEGE_ESCALATION), so naming
        # keys would only pretend to narrow it.
        arn="arn:aws:s3:::{name}/*",
        runtime=("s3:GetObject", "s3:PutObject"),
    ),
    "aws:dynamodb/table:Table": Rule(
        write=(
            "dynamodb:CreateTable",
            "dynamodb:DeleteTable",
            "dynamodb:UpdateTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
        ),
        read=(
            "dynamodb:DescribeTable",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:ListTagsOfResource",
        ),
        # IAM's * also matches "/": the table pattern covers its indexes and its stream.
        arn="arn:aws:dynamodb:{region}:{account}:table/{name}",
        runtime=(
            "dynamodb:DeleteItem",
            "dynamodb:DescribeStream",
            "dynamodb:GetItem",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        ),
    ),
    "aws:kms/key:Key": Rule(
        # Key ids are random UUIDs: the key ARN cannot be named before the key exists, so
        # the stack's tag says which keys are ours. No UntagResource: the tag stays.
        write=(
            "kms:PutKeyPolicy",
            "kms:EnableKeyRotation",
            "kms:DisableKeyRotation",
            "kms:UpdateKeyDescription",
            "kms:ScheduleKeyDeletion",
        ),
        read=(
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
        ),
        arn="arn:aws:kms:{region}:{account}:key/*",
        stack_tagged=True,
        tagged_create=("kms:CreateKey",),
        # Tagging while creating needs kms:TagResource on every key of the account and region.
        tagging=("kms:TagResource",),
        # Encrypt: the bot encrypts linked GitHub tokens with the request table's key (its own
        # policy allows that only under the encryption context naming the purpose).
        runtime=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
    ),
    "aws:sqs/queue:Queue": Rule(
        write=(
            "sqs:CreateQueue",
            "sqs:DeleteQueue",
            "sqs:SetQueueAttributes",
            "sqs:TagQueue",
            "sqs:UntagQueue",
        ),
        read=("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"),
        arn="arn:aws:sqs:{region}:{account}:{name}",
        runtime=("sqs:SendMessage",),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Rule(
        write=(
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ),
        read=("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        arn="arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    ),
    "aws:cloudwatch/logGroup:LogGroup": Rule(
        write=(
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:TagResource",
            "logs:UntagResource",
        ),
        read=("logs:ListTagsForResource",),
        arn="arn:aws:logs:{region}:{account}:log-group:{name}",
        unscoped_read=("logs:DescribeLogGroups",),
        runtime=("logs:CreateLogStream", "logs:PutLogEvents"),
    ),
    "aws:lambda/function:Function": Rule(
        write=(
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:TagResource",
            "lambda:UntagResource",
        ),
        read=(
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetFunctionConcurrency",
            "lambda:ListVersionsByFunction",
            "lambda:ListTags",
        ),
        arn="arn:aws:lambda:{region}:{account}:function:{name}",
        runtime=("lambda:InvokeFunction",),  # the scheduler's role
    ),
    "aws:lambda/layerVersion:LayerVersion": Rule(
        write=("lambda:PublishLayerVersion", "lambda:DeleteLayerVersion"),
        read=("lambda:GetLayerVersion",),
        arn="arn:aws:lambda:{region}:{account}:layer:{name}",
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": Rule(
        # Mappings are named by a UUID AWS picks; a condition ties them to our function.
        write=("lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"),
        read=("lambda:GetEventSourceMapping",),
        arn="arn:aws:lambda:{region}:{account}:event-source-mapping:*",
        unscoped_write=("lambda:CreateEventSourceMapping",),
    ),
    "aws:scheduler/schedule:Schedule": Rule(
        write=("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"),
        read=("scheduler:GetSchedule",),
        arn="arn:aws:scheduler:{region}:{account}:schedule/default/{name}",
    ),
    # Kubernetes objects go through the cluster's API with an EKS access entry for the deploy
    # role (docs/getting-started/sre-team.md, the first deploy); IAM only sees the cluster
    # lookup (see LOOKUPS).
    "kubernetes:core/v1:Namespace": Rule((), (), None),
    "kubernetes:core/v1:ServiceAccount": Rule((), (), None),
    "kubernetes:apps/v1:Deployment": Rule((), (), None),
    "kubernetes:policy/v1:PodDisruptionBudget": Rule((), (), None),
    # Database objects go through the postgresql provider as the admin login (its rule below).
    "postgresql:index/role:Role": Rule((), (), None),
    "postgresql:index/grant:Grant": Rule((), (), None),
    "postgresql:index/defaultPrivileges:DefaultPrivileges": Rule((), (), None),
    # Providers: the account roles (sts), the admin login (rds-db), the cluster (eks).
    "pulumi:providers:aws": Rule((), ("sts:AssumeRole",), "{name}"),
    "pulumi:providers:postgresql": Rule(
        ("rds-db:connect",), (), "arn:aws:rds-db:{region}:{account}:dbuser:*/{name}"
    ),
    "pulumi:providers:kubernetes": Rule((), (), None),
    # The only dynamic resources are MySQL users (components/mysql_users.py): the provider
    # logs in as the server's admin_login with an IAM token signed with this role.
    "pulumi-python:dynamic:Resource": Rule(
        ("rds-db:connect",), (), "arn:aws:rds-db:{region}:{account}:dbuser:*/{name}"
    ),
}

LOOKUPS: Final[Mapping[str, Rule]] = {
    "aws:rds/getInstance:getInstance": Rule(
        (), ("rds:DescribeDBInstances",), "arn:aws:rds:{region}:{account}:db:{name}"
    ),
    "aws:rds/getCluster:getCluster": Rule(
        (), ("rds:DescribeDBClusters",), "arn:aws:rds:{region}:{account}:cluster:{name}"
    ),
    "aws:eks/getCluster:getCluster": Rule(
        (), ("eks:DescribeCluster",), "arn:aws:eks:{region}:{account}:cluster/{name}"
    ),
    "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": Rule(
        (), ("iam:GetOpenIDConnectProvider",), "arn:aws:iam::{account}:oidc-provider/{name}"
    ),
    # The account of the stack's own roles, for their boundary: needs no permission.
    "aws:index/getCallerIdentity:getCallerIdentity": Rule((), (), None),
}

# Any instance of the account and region: an Aurora cluster's members (read-only).
CLUSTER_MEMBERS: Final = "arn:aws:rds:{region}:{account}:db:{name}"
# The parameter groups of the account and region (read-only), per lookup of a server.
PARAMETER_GROUPS: Final[Mapping[str, tuple[str, str]]] = {
    "aws:rds/getInstance:getInstance": (
        "rds:DescribeDBParameters",
        "arn:aws:rds:{region}:{account}:pg:{name}",
    ),
    "aws:rds/getCluster:getCluster": (
        "rds:DescribeDBClusterParameters",
        "arn:aws:rds:{region}:{account}:cluster-pg:{name}",
    ),
}
# Audit log groups `dbaccess activity` reads, named one by one up to this many per account
# and region (each name costs ~95 characters of the account's 10,240-character document).
AUDIT_LOG_GROUPS_NAMED: Final = 10
_LOG_GROUP: Final = "arn:aws:logs:{region}:{account}:log-group:"
# An RDS MySQL instance loads its audit plugin through an option group, whichever it uses:
# `dbaccess doctor --operator` reads it (query_audit) in the accounts and regions that have one.
OPTION_GROUP: Final = "arn:aws:rds:{region}:{account}:og:*"
# Creating a function or a schedule hands it a role; only our service roles, only to them.
PASS_ROLE_SERVICES: Final = ("lambda.amazonaws.com", "scheduler.amazonaws.com")
# A VPC Lambda's subnets and security groups are checked with calls that take no resource.
VPC_DESCRIBE: Final = ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")
# What a VPC Lambda's role does with its network interfaces (services.issuer_policy).
VPC_INTERFACES: Final = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
VPC_RUNTIME_DESCRIBE: Final = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
# A person role's database access (people.database_permissions), in each account. One
# statement: each action takes only its own kind of resource, so listing all is no wider.
PERSON_DATABASE_ACTIONS: Final = (
    "rds-db:connect",
    "redshift:CreateClusterUser",
    "redshift:GetClusterCredentials",
    "redshift:JoinGroup",
)
PERSON_DATABASE_RESOURCES: Final = (
    "arn:aws:rds-db:*:{account}:dbuser:*/*",
    "arn:aws:redshift:*:{account}:dbuser:*/*",
    "arn:aws:redshift:*:{account}:dbname:*/*",
    "arn:aws:redshift:*:{account}:dbgroup:*/*",
)
# The calls that could take a role out of its boundary, and those that edit the boundary.
BOUNDED_ROLE_WRITES: Final = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
POLICY_EDITS: Final = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)


class UncoveredType(ValueError):
    """The program registers a resource type RULES does not know."""


def _pattern(physical: str) -> str:
    """An auto-name (logical-abc1234) as the pattern of every name Pulumi may give it."""
    match = _AUTO_NAME.fullmatch(physical)
    return f"{match['logical']}-*" if match else physical


@dataclass
class _Collector:
    # (actions, condition as JSON) -> resources
    statements: dict[tuple[tuple[str, ...], str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )

    def add(
        self,
        actions: Iterable[str],
        resource: str,
        condition: Mapping[str, Any] | None = None,
    ) -> None:
        names = tuple(sorted(set(actions)))
        if names:
            key = (names, json.dumps(condition or {}, sort_keys=True))
            self.statements[key].add(resource)

    def policy(self, denies: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
        # One statement per distinct action set; merge action sets that share resources. No
        # Sid on the Allows: IAM needs none, and they cost the document ~25 characters each.
        by_resources: dict[tuple[tuple[str, ...], str], set[str]] = defaultdict(set)
        for (names, condition), resources in self.statements.items():
            by_resources[(tuple(sorted(_uncovered(resources))), condition)].update(names)
        statements = []
        for (arns, condition), granted in sorted(
            by_resources.items(), key=lambda item: (sorted(item[1])[0], item[0])
        ):
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Action": sorted(granted),
                "Resource": list(arns) if len(arns) > 1 else arns[0],
            }
            if condition != "{}":
                statement["Condition"] = json.loads(condition)
            statements.append(statement)
        return {"Version": "2012-10-17", "Statement": [*statements, *denies]}


def _uncovered(resources: set[str]) -> set[str]:
    """The resources without a pattern of the set matching them (an instance of the
    account's `db:*`, say): naming those grants nothing more, and only fills the document."""
    patterns = [
        re.compile(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."))
        for p in resources
        if "*" in p or "?" in p
    ]
    return {
        r for r in resources if "*" in r or "?" in r or not any(p.fullmatch(r) for p in patterns)
    }


def _role_resource(declared: Declared) -> str:
    path = str(declared.inputs.get("path") or "/")
    if path != "/":
        # Our own path (/dbaccess/, /dbaccess-service/): every role under it is ours.
        return f"{path}*"
    name = declared.inputs.get("name")
    return f"/{name}" if name else f"/{declared.name}-*"


def _name(declared: Declared, roles: Mapping[tuple[str, str], str]) -> str:
    """The physical name (or its pattern) that the rule's ARN template gets."""
    inputs = declared.inputs
    match declared.type:
        case "aws:iam/role:Role":
            return _role_resource(declared)
        case "aws:iam/rolePolicy:RolePolicy":
            return _role_of(roles, declared.account, str(inputs["role"]))
        case "pulumi:providers:postgresql":
            return str(inputs["username"])
        case "pulumi-python:dynamic:Resource":
            return str(inputs["admin_login"])
        case "aws:lambda/layerVersion:LayerVersion":
            return f"{inputs['layerName']}*"  # the layer and its numbered versions
        case kind if kind.startswith("aws:s3/") and "bucket" in inputs:
            return _pattern(str(inputs["bucket"]))  # a bucket's setting or object
    # Named by the program, or auto-named: the logical name and Pulumi's random suffix.
    return _pattern(str(inputs["name"])) if inputs.get("name") else f"{declared.name}-*"


def _role_of(roles: Mapping[tuple[str, str], str], account: str, name: str) -> str:
    """The path/name pattern of the role the program declared with this (physical) name."""
    found = roles.get((account, name)) or roles.get((account, _pattern(name)))
    if found is None:
        raise UncoveredType(f"role {name!r} is not one the program declares")
    return found


def _account(declared: Declared) -> str:
    """The account a resource lives in; a postgresql provider's (and a MySQL user's) is its
    database's, the account of the role that signs the admin's IAM token."""
    if declared.type == "pulumi:providers:postgresql":
        return str(declared.inputs["awsRdsIamProviderRoleArn"]).split(":")[4]
    if declared.type == "pulumi-python:dynamic:Resource":
        return str(declared.inputs["deploy_role_arn"]).split(":")[4]
    return declared.account


def _provider_roles(declared: Declared) -> list[str]:
    assume = declared.inputs.get("assumeRoles") or "[]"
    roles = json.loads(assume) if isinstance(assume, str) else assume
    return [str(r["roleArn"]) for r in roles]


def _passed_roles(declared: Declared) -> list[str]:
    """The role ARNs a Lambda function or a schedule is created with."""
    if declared.type == "aws:lambda/function:Function":
        return [str(declared.inputs["role"])]
    if declared.type == "aws:scheduler/schedule:Schedule":
        return [str(declared.inputs["target"]["roleArn"])]
    return []


def _lookup_name(lookup: Lookup, region: str) -> str:
    args = lookup.args
    match lookup.token:
        case "aws:rds/getInstance:getInstance":
            return str(args["dbInstanceIdentifier"])
        case "aws:rds/getCluster:getCluster":
            return str(args["clusterIdentifier"])
        case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            # The cluster's issuer id is only known to AWS: the region's EKS OIDC providers.
            return f"oidc.eks.{region}.amazonaws.com/id/*"
    return str(args["name"])


def coverage_gaps(declared: Iterable[Declared], lookups: Iterable[Lookup]) -> list[str]:
    """Resource types and lookups the program uses that the tables do not know."""
    types = {d.type for d in declared} - set(RULES)
    tokens = {lookup.token for lookup in lookups} - set(LOOKUPS)
    return sorted(types | tokens)


def build_policies(
    declared: Iterable[Declared],
    lookups: Iterable[Lookup],
    *,
    region: str,
    stack: str,
    stack_account: str,
    preview_roles: Mapping[str, str],
    secret_arns: Iterable[str] = (),
    secrets_key_arn: str | None = None,
    notify_secret_arn: str | None = None,
    audit_log_groups: Iterable[tuple[str, str, str]] = (),
    option_group_regions: Iterable[tuple[str, str]] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """account -> {"deploy": policy, "preview": policy, "boundary": policy}: one document per
    account role, each holding only what that role does, so none grows with the others'
    databases. The stack account's role (the CI role, which runs `pulumi up`) gets the stack's
    own resources and the right to assume the other accounts' roles; another account's role
    gets the resources, lookups and person roles in its account. Every deploy document keeps
    every guard (Deny). Each account's boundary allows what its roles do with the stack's
    resources, its own account's databases, and (the stack account's, where the services
    run) the services' secrets and network.

    `preview_roles`: account -> the read-only role the per-account providers assume during a
    preview (dbaccess:previewAccounts); `secret_arns`: the secrets the services read,
    encrypted with `secrets_key_arn` when that is a customer managed key; `notify_secret_arn`:
    the bot token `dbaccess notify` reads as the deploy role; `audit_log_groups`: (account,
    region, log group) of the servers' audit logs `dbaccess activity` reads as that role;
    `option_group_regions`: (account, region) where RDS MySQL instances live (their option
    groups hold the audit plugin)."""
    declared, lookups = list(declared), list(lookups)
    if gaps := coverage_gaps(declared, lookups):
        raise UncoveredType(
            f"no IAM actions known for {', '.join(gaps)}; add them to RULES or LOOKUPS in "
            "dbaccess/iam/deploy.py"
        )
    roles = {
        (d.account, str(d.inputs.get("name") or f"{d.name}-*")): _role_resource(d)
        for d in declared
        if d.type == "aws:iam/role:Role"
    }
    role_accounts = sorted({account for account, _ in roles})
    tagged = {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack}}
    tagging = {
        "StringEquals": {f"aws:RequestTag/{STACK_TAG}": stack},
        "ForAllValues:StringEquals": {"aws:TagKeys": [STACK_TAG]},
    }
    deploy: dict[str, _Collector] = defaultdict(_Collector)
    preview: dict[str, _Collector] = defaultdict(_Collector)
    boundary: dict[str, _Collector] = defaultdict(_Collector)
    # What every account's roles may do with the stack's resources: the issuer and the reaper
    # assume roles in every account, person roles everywhere read the stack's catalog.
    runtime = _Collector()

    def with_boundary(account: str) -> dict[str, Any]:
        return {"ArnEquals": {"iam:PermissionsBoundary": boundary_arn(account)}}

    def arn(template: str, account: str, name: str, where: Mapping[str, Any] | None = None) -> str:
        # A resource or lookup in another region says so (the postgresql provider's IAM-auth
        # region, a lookup's or a resource's `region`); the rest live in the stack's region.
        where = where or {}
        in_region = where.get("awsRdsIamRegion") or where.get("region") or region
        return template.format(region=in_region, account=account, name=name)

    for d in declared:
        rule = RULES[d.type]
        if rule.arn is None:
            continue
        if d.type == "pulumi:providers:aws":
            # The CI role assumes each account's role (dbaccess:accounts).
            for role in _provider_roles(d):
                deploy[stack_account].add(rule.read, role)
            continue
        account = _account(d)
        resource = arn(rule.arn, account, _name(d, roles), d.inputs)
        condition = tagged if rule.stack_tagged else None
        if d.type == "aws:lambda/eventSourceMapping:EventSourceMapping":
            function = _pattern(str(d.inputs["functionName"]).rsplit(":", 1)[1])
            condition = {
                "ArnLike": {
                    "lambda:FunctionArn": arn(
                        RULES["aws:lambda/function:Function"].arn or "", account, function
                    )
                }
            }
        deploy[account].add(rule.write + rule.read, resource, condition)
        deploy[account].add(rule.bounded, resource, with_boundary(account))
        deploy[account].add(rule.tagged_create, "*", tagging)
        deploy[account].add(rule.tagging, resource, tagging)
        preview[account].add(rule.read, resource, condition)
        deploy[account].add(rule.unscoped_write + rule.unscoped_read, "*", condition)
        preview[account].add(rule.unscoped_read, "*", condition)
        runtime.add(rule.runtime, resource, condition)
        for passed in _passed_roles(d):
            name = passed.rsplit("/", 1)[1]
            deploy[account].add(
                ["iam:PassRole"],
                arn(_ROLE, account, _role_of(roles, account, name)),
                {"StringEquals": {"iam:PassedToService": list(PASS_ROLE_SERVICES)}},
            )
        if d.type == "aws:lambda/function:Function" and (vpc := d.inputs.get("vpcConfig")):
            deploy[account].add(VPC_DESCRIBE, "*")
            preview[account].add(VPC_DESCRIBE, "*")
            ec2 = f"arn:aws:ec2:{region}:{account}"
            boundary[account].add(VPC_RUNTIME_DESCRIBE, "*")
            for interface in (
                f"{ec2}:network-interface/*",
                *(f"{ec2}:subnet/{s}" for s in vpc.get("subnetIds") or ()),
                *(f"{ec2}:security-group/{g}" for g in vpc.get("securityGroupIds") or ()),
            ):
                boundary[account].add(VPC_INTERFACES, interface)
        if d.type == "aws:dynamodb/table:Table" and d.inputs.get("streamEnabled"):
            boundary[account].add(["dynamodb:ListStreams"], "*")  # takes no resource
    for lookup in lookups:
        rule = LOOKUPS[lookup.token]
        if rule.arn is None:
            continue
        account = lookup.account
        resource = arn(rule.arn, account, _lookup_name(lookup, region), lookup.args)
        deploy[account].add(rule.read, resource)
        preview[account].add(rule.read, resource)
        if lookup.token == "aws:rds/getCluster:getCluster":
            # `dbaccess audit` / `sweep` (as this role) visit every member instance of the
            # cluster; members come and go, so their ids cannot be named here.
            deploy[account].add(
                ["rds:DescribeDBInstances"], arn(CLUSTER_MEMBERS, account, "*", lookup.args)
            )
        if group := PARAMETER_GROUPS.get(lookup.token):
            # `dbaccess doctor --operator` (as this role, before `pulumi up`) reads whether the
            # server's parameter group enforces TLS and preloads the audit extension; the group
            # is whichever the server uses.
            action, template = group
            deploy[account].add([action], arn(template, account, "*", lookup.args))
    for account, where in sorted(set(option_group_regions)):
        deploy[account].add(
            ["rds:DescribeOptionGroups"], OPTION_GROUP.format(region=where, account=account)
        )
    for account, log_group in _audit_log_arns(audit_log_groups):
        # `dbaccess activity` (as this role) reads each server's exported audit log.
        deploy[account].add(["logs:FilterLogEvents"], log_group)
    # During `pulumi up` the program is previewed first: the CI role assumes both sets.
    for role in preview_roles.values():
        deploy[stack_account].add(["sts:AssumeRole"], role)
        preview[stack_account].add(["sts:AssumeRole"], role)
    for account in role_accounts:
        for resource in PERSON_DATABASE_RESOURCES:
            boundary[account].add(PERSON_DATABASE_ACTIONS, resource.format(account=account))
    # The services (Lambdas, the bot) run in the stack's account.
    for secret in secret_arns:
        boundary[stack_account].add(["secretsmanager:GetSecretValue"], secret)
    if secrets_key_arn:
        boundary[stack_account].add(["kms:Decrypt"], secrets_key_arn)
    if notify_secret_arn:
        # `dbaccess notify` (deploy.yml, after `pulumi up`) sends with the bot's own token.
        deploy[stack_account].add(["secretsmanager:GetSecretValue"], notify_secret_arn)
        if secrets_key_arn:
            # A customer managed key: decrypt through Secrets Manager only (the key's region).
            region = secrets_key_arn.split(":")[3]
            via = {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}
            deploy[stack_account].add(["kms:Decrypt"], secrets_key_arn, via)
    accounts = {stack_account, *deploy, *preview, *boundary, *preview_roles}
    for account in accounts:
        for key, resources in runtime.statements.items():
            boundary[account].statements[key] |= resources
    return {
        account: {
            "deploy": deploy[account].policy(_guards(account)),
            "preview": preview[account].policy(),
            "boundary": boundary[account].policy(),
        }
        for account in sorted(accounts)
    }


def _audit_log_arns(groups: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(account, ARN) for each audit log group, in the ':*' form IAM matches for log-group
    actions. Named one by one up to AUDIT_LOG_GROUPS_NAMED per account and region; beyond,
    RDS's name pattern for the log types read (/aws/rds/*/postgresql, /aws/rds/*/audit), so
    the inline policy of an account with many servers still fits IAM's 10,240 characters."""
    by_place: dict[tuple[str, str], list[str]] = defaultdict(list)
    for account, region, name in groups:
        by_place[(account, region)].append(name)
    found = []
    for (account, region), names in by_place.items():
        if len(names) > AUDIT_LOG_GROUPS_NAMED:
            names = sorted({f"/aws/rds/*/{name.rsplit('/', 1)[1]}" for name in names})
        found += [
            (account, f"{_LOG_GROUP.format(region=region, account=account)}{n}:*") for n in names
        ]
    return found


def _guards(account: str) -> list[dict[str, Any]]:
    """Denies that hold whatever else `account`'s deploy role is given: no role without the
    boundary, no removing it, no editing the boundary policy. IAM writes act only in the
    caller's own account, so its roles and its boundary are the whole reach of each Deny."""
    roles = _ROLE.format(account=account, name="/*")
    own_boundary = boundary_arn(account)
    return [
        {
            "Sid": "DbaccessDenyRolesWithoutBoundary",
            "Effect": "Deny",
            "Action": list(BOUNDED_ROLE_WRITES),
            "Resource": roles,
            "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": own_boundary}},
        },
        {
            "Sid": "DbaccessDenyBoundaryRemoval",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": roles,
        },
        {
            "Sid": "DbaccessDenyBoundaryEdits",
            "Effect": "Deny",
            "Action": list(POLICY_EDITS),
            "Resource": own_boundary,
        },
    ]
