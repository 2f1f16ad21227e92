"""db-access guardrails as pure functions: (resource type, inputs) -> violation messages.

`__main__.py` wraps each in a mandatory ResourceValidationPolicy; the tests call them directly,
without the Pulumi engine. Inputs use the providers' camelCase property names.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

DEFAULT_TAG_KEY: Final = "consoleme-authorized"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
TABLE = "aws:dynamodb/table:Table"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
CATALOG_KEY = "catalog.json"
DATABASE_ACTION_PREFIXES: Final = ("rds-db:", "redshift:")
PERSON_POLICY_NAME: Final = "database-access"
# IAM wildcards: `*` matches any run of characters, `?` any single one.
WILDCARDS: Final = ("*", "?")
# The date keys AWS evaluates for a dated grant, by ARN service (docs/explanation/grant-ends.md).
DATE_KEYS: Final = {"rds-db": "aws:TokenIssueTime", "redshift": "aws:CurrentTime"}

Props = Mapping[str, Any]
Check = Callable[[str, Props], list[str]]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _policy_documents(resource_type: str, props: Props) -> Iterator[tuple[str, Any]]:
    """(where, document) for each IAM policy document a resource carries."""
    if resource_type in (ROLE_POLICY, MANAGED_POLICY):
        yield "policy", props.get("policy")
    elif resource_type == ROLE:
        for inline in _as_list(props.get("inlinePolicies")):
            yield f"inline policy '{inline.get('name')}'", inline.get("policy")


def no_wildcard_database_resources(resource_type: str, props: Props) -> list[str]:
    """No Allow statement granting rds-db:* or redshift:* actions on a wildcard resource."""
    violations = []
    for where, document in _policy_documents(resource_type, props):
        if not document:
            continue
        parsed = json.loads(document) if isinstance(document, str) else document
        for stmt in _as_list(parsed.get("Statement")):
            actions = [str(a) for a in _as_list(stmt.get("Action"))]
            database = [a for a in actions if a == "*" or a.startswith(DATABASE_ACTION_PREFIXES)]
            if stmt.get("Effect") != "Allow" or not database:
                continue
            resources = [str(r) for r in _as_list(stmt.get("Resource"))]
            # NotResource allows everything except the listed resources: a wildcard too.
            if "NotResource" in stmt or any(w in r for r in resources for w in WILDCARDS):
                violations.append(
                    f"{where}: statement {stmt.get('Sid', '(no Sid)')} allows "
                    f"{', '.join(database)} on a wildcard resource; name each dbuser, dbname "
                    "and dbgroup ARN (dbaccess.iam.people builds them)"
                )
    return violations


def person_policy_names_every_resource(resource_type: str, props: Props) -> list[str]:
    """A person's database-access policy names every resource exactly (rds-db, redshift, s3):
    no `*` or `?`, which IAM would read as a pattern matching other people's logins or objects."""
    if resource_type != ROLE_POLICY or props.get("name") != PERSON_POLICY_NAME:
        return []
    document = props.get("policy")
    if not document:
        return []
    parsed = json.loads(document) if isinstance(document, str) else document
    violations = []
    for stmt in _as_list(parsed.get("Statement")):
        for resource in (str(r) for r in _as_list(stmt.get("Resource"))):
            if any(w in resource for w in WILDCARDS):
                violations.append(
                    f"person policy statement {stmt.get('Sid', '(no Sid)')} names {resource!r}, "
                    "which IAM reads as a pattern; names reaching an ARN must not contain * or ?"
                )
    return violations


def person_role_shape(
    resource_type: str, props: Props, tag_key: str = DEFAULT_TAG_KEY
) -> list[str]:
    """A person role (named dbaccess-…, tagged dbaccess:owner) is visible in ConsoleMe, lives
    under /dbaccess/ and issues sessions of at most an hour."""
    tags = props.get("tags") or {}
    name = str(props.get("name") or "")
    if resource_type != ROLE or not name.startswith("dbaccess-") or "dbaccess:owner" not in tags:
        return []
    violations = []
    owner = tags["dbaccess:owner"]
    if owner not in str(tags.get(tag_key, "")).split(":"):
        violations.append(
            f"role {name} lacks the ConsoleMe tag {tag_key}={owner}; ConsoleMe only offers "
            "roles tagged with the person's email"
        )
    if props.get("path") != "/dbaccess/":
        violations.append(
            f"role {name} has path {props.get('path')!r}, not '/dbaccess/'; the catalog bucket "
            "and the issuer trust only roles under /dbaccess/"
        )
    if int(props.get("maxSessionDuration") or 3600) > 3600:
        violations.append(
            f"role {name} allows sessions of {props['maxSessionDuration']} seconds; "
            "set maxSessionDuration to 3600 or less"
        )
    return violations


# docs/explanation/security.md, "The deploy role cannot make itself admin": the boundary
# every role carries.
BOUNDARY_SUFFIX: Final = ":policy/dbaccess/dbaccess-boundary"


def role_has_boundary(resource_type: str, props: Props) -> list[str]:
    """Every role the stack creates carries the db-access permissions boundary of its account."""
    if resource_type != ROLE:
        return []
    boundary = str(props.get("permissionsBoundary") or "")
    if re.fullmatch(r"arn:aws:iam::\d{12}" + re.escape(BOUNDARY_SUFFIX), boundary):
        return []
    return [
        f"role {props.get('name') or '(auto-named)'} has permissions boundary "
        f"{boundary or 'none'}; every db-access role must carry "
        f"arn:aws:iam::<account>{BOUNDARY_SUFFIX}"
    ]


def request_table_protected(resource_type: str, props: Props) -> list[str]:
    """The request table (the only table in the stack) is KMS-encrypted and recoverable."""
    if resource_type != TABLE:
        return []
    violations = []
    sse = props.get("serverSideEncryption") or {}
    if not (sse.get("enabled") and sse.get("kmsKeyArn")):
        violations.append(
            "the request table must be encrypted with a customer KMS key: set "
            "serverSideEncryption {enabled: true, kmsKeyArn: <key ARN>}"
        )
    if not (props.get("pointInTimeRecovery") or {}).get("enabled"):
        violations.append(
            "the request table must have point-in-time recovery: set pointInTimeRecovery "
            "{enabled: true}"
        )
    return violations


def issuer_not_public(resource_type: str, props: Props) -> list[str]:
    """The issuer Lambda is reached only through the DynamoDB stream: no URL, no public grant."""
    if resource_type == FUNCTION_URL:
        return [
            f"function URL for {props.get('functionName')}: the issuer is invoked by the "
            "request table's stream only; remove the FunctionUrl"
        ]
    if resource_type == LAMBDA_PERMISSION and props.get("principal") == "*":
        return [
            f"permission {props.get('statementId')!r} lets anyone invoke "
            f"{props.get('function')}; name the service or account principal"
        ]
    return []


def bot_runs_locked_down(resource_type: str, props: Props) -> list[str]:
    """Every container of the bot's Deployment runs as non-root on a read-only filesystem."""
    if resource_type != DEPLOYMENT:
        return []
    pod = ((props.get("spec") or {}).get("template") or {}).get("spec") or {}
    pod_context = pod.get("securityContext") or {}
    violations = []
    for container in [*_as_list(pod.get("initContainers")), *_as_list(pod.get("containers"))]:
        context = container.get("securityContext") or {}
        name = container.get("name")
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if non_root is not True or user == 0:
            violations.append(
                f"container {name} may run as root: set securityContext.runAsNonRoot: true "
                "(and a non-zero runAsUser)"
            )
        if context.get("readOnlyRootFilesystem") is not True:
            violations.append(
                f"container {name} has a writable root filesystem: set "
                "securityContext.readOnlyRootFilesystem: true (mount an emptyDir for /tmp)"
            )
    return violations


def production_write_is_temporary(resource_type: str, props: Props) -> list[str]:
    """Read-write grants on production databases in catalog.json carry `until` and `reason`.

    Checked on the catalog because it is what the issuer honours; the loader enforces the same
    rule on access.yaml, so this catches a program that bypasses the loader."""
    if resource_type != BUCKET_OBJECT or props.get("key") != CATALOG_KEY:
        return []
    catalog = json.loads(props.get("content") or "{}")
    databases = catalog.get("databases", {})
    violations = []
    for email, person in sorted(catalog.get("people", {}).items()):
        for grant in person.get("grants", []):
            database = databases.get(grant.get("database"), {})
            if grant.get("access") != "read-write" or not database.get("production"):
                continue
            missing = [f for f in ("until", "reason") if not grant.get(f)]
            if missing:
                violations.append(
                    f"{email} has read-write on production database {grant.get('database')} "
                    f"without {' and '.join(missing)}; add them in access.yaml"
                )
    return violations


# --- stack-wide: dated grants end in IAM ------------------------------------------------

Resources = Iterable[tuple[str, Props]]


def _end(until: str) -> str:
    """00:00 UTC the day after `until` (the last day of access), as IAM writes times.

    Deliberately not imported from dbaccess.iam: a guardrail that shared the program's
    date arithmetic would pass the program's own mistakes."""
    day = dt.date.fromisoformat(until) + dt.timedelta(days=1)
    return f"{day.isoformat()}T00:00:00Z"


def _login_arn(database: Mapping[str, Any], login: str) -> str | None:
    if database.get("engine") == "redshift":
        return (
            f"arn:aws:redshift:{database.get('region')}:{database.get('account')}:dbuser:"
            f"{database.get('identifier')}/{login}"
        )
    if database.get("resource_id"):
        return (
            f"arn:aws:rds-db:{database.get('region')}:{database.get('account')}:dbuser:"
            f"{database['resource_id']}/{login}"
        )
    return None


def _dated_logins(catalog: Mapping[str, Any]) -> dict[str, str]:
    """Login ARN -> the latest allowed end, for logins whose every grant is dated."""
    databases = catalog.get("databases", {})
    ends: dict[str, str | None] = {}
    for person in catalog.get("people", {}).values():
        for grant in person.get("grants", []):
            arn = _login_arn(databases.get(grant.get("database"), {}), str(grant.get("login")))
            if arn is None:
                continue
            end = _end(grant["until"]) if grant.get("until") else None
            if arn in ends:
                previous = ends[arn]
                end = None if previous is None or end is None else max(previous, end)
            ends[arn] = end
    return {arn: end for arn, end in ends.items() if end is not None}


def _ends_in_time(stmt: Mapping[str, Any], key: str, end: str) -> bool:
    date_less = (stmt.get("Condition") or {}).get("DateLessThan") or {}
    value = date_less.get(key)
    return isinstance(value, str) and value <= end


def dated_grants_end_in_iam(resources: Resources) -> list[str]:
    """Every statement naming the login of a dated grant (per catalog.json) carries
    DateLessThan on the right key, ending no later than 00:00 UTC after the grant's `until`."""
    resources = list(resources)
    catalogs = [p for t, p in resources if t == BUCKET_OBJECT and p.get("key") == CATALOG_KEY]
    if not catalogs or not isinstance(catalogs[0].get("content"), str):
        return []
    dated = _dated_logins(json.loads(catalogs[0]["content"]))
    violations = []
    for resource_type, props in resources:
        for where, document in _policy_documents(resource_type, props):
            if not isinstance(document, str):
                continue
            for stmt in _as_list(json.loads(document).get("Statement")):
                if stmt.get("Effect") != "Allow":
                    continue
                for resource in (str(r) for r in _as_list(stmt.get("Resource"))):
                    end = dated.get(resource)
                    key = DATE_KEYS.get(resource.split(":")[2] if resource.count(":") > 2 else "")
                    if end and key and not _ends_in_time(stmt, key, end):
                        violations.append(
                            f"{props.get('name', where)}: statement {stmt.get('Sid', '(no Sid)')} "
                            f"names {resource} of a dated grant without DateLessThan {key} <= "
                            f"{end}; AWS would keep honouring it after the grant ended"
                        )
    return violations
