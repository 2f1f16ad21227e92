"""What AWS says about each database's server: it exists in its account and region, IAM
database authentication is on (RDS, Aurora), and it refuses connections without TLS (the
engine's parameter: PostgreSQL rds.force_ssl, MySQL require_secure_transport, Redshift
require_ssl), read from the instance's or cluster's parameter group. Where access.yaml
declares query_audit: the audit extension is loaded and its log is exported to CloudWatch.

The clients are the account's, through the deploy role (as `pulumi up` sees the servers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.access.plan import DatabaseSpec
from dbaccess.preflight import Failed, Unchecked

NOT_FOUND: Final = frozenset(
    {"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "ClusterNotFound"}
)


@dataclass(frozen=True)
class TlsParameter:
    name: str
    on: frozenset[str]  # the values that mean "TLS only"
    fix_value: str


POSTGRES_TLS: Final = TlsParameter("rds.force_ssl", frozenset({"1"}), "1")
MYSQL_TLS: Final = TlsParameter("require_secure_transport", frozenset({"1", "ON", "on"}), "1")
TLS_PARAMETER: Final[dict[str, TlsParameter]] = {
    "postgres": POSTGRES_TLS,
    "aurora-postgresql": POSTGRES_TLS,
    "mysql": MYSQL_TLS,
    "aurora-mysql": MYSQL_TLS,
    "redshift": TlsParameter("require_ssl", frozenset({"true"}), "true"),
}


def _kind(db: DatabaseSpec) -> str:
    if db.engine == "redshift":
        return "Redshift cluster"
    return "cluster" if db.is_cluster else "instance"


def _call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """One describe call; Unchecked when AWS (or moto) cannot answer it."""
    try:
        return dict(getattr(client, operation)(**kwargs))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in NOT_FOUND:
            raise
        error = exc.response.get("Error", {})
        raise Unchecked(
            f"{operation} was refused: {error.get('Code', '?')}: {error.get('Message', '')}"
        ) from None
    except (BotoCoreError, NotImplementedError) as exc:
        raise Unchecked(f"{operation} failed: {type(exc).__name__}: {exc}") from None


def describe(client: Any, db: DatabaseSpec) -> tuple[dict[str, Any], str]:
    """The instance or cluster as AWS describes it (`client`: rds, or redshift for Redshift)."""
    where = f"account {db.account}, {db.region}"
    try:
        if db.engine == "redshift":
            found = _call(client, "describe_clusters", ClusterIdentifier=db.identifier)
            server = found["Clusters"][0]
            state = server.get("ClusterStatus", "?")
        elif db.is_cluster:
            found = _call(client, "describe_db_clusters", DBClusterIdentifier=db.identifier)
            server = found["DBClusters"][0]
            state = server.get("Status", "?")
        else:
            found = _call(client, "describe_db_instances", DBInstanceIdentifier=db.identifier)
            server = found["DBInstances"][0]
            state = server.get("DBInstanceStatus", "?")
    except ClientError:
        raise Failed(
            f"no {_kind(db)} '{db.identifier}' in {where}",
            f"Check `{'cluster' if db.is_cluster else 'instance'}:`, `account:` and `region:` of "
            f"'{db.key}' in access.yaml (the {_kind(db)} identifier, not its endpoint).",
        ) from None
    return server, f"{db.identifier} in {where} ({state})"


def iam_authentication(server: dict[str, Any], db: DatabaseSpec) -> str:
    """RDS / Aurora: IAM database authentication is on (Redshift always takes IAM)."""
    if server.get("IAMDatabaseAuthenticationEnabled"):
        return "enabled"
    if db.is_cluster:
        command = (
            f"aws rds modify-db-cluster --db-cluster-identifier {db.identifier} "
            f"--enable-iam-database-authentication --apply-immediately --region {db.region}"
        )
    else:
        command = (
            f"aws rds modify-db-instance --db-instance-identifier {db.identifier} "
            f"--enable-iam-database-authentication --apply-immediately --region {db.region}"
        )
    raise Failed(
        f"IAM database authentication is off on {db.identifier}",
        f"Console: Modify the {_kind(db)}, Database authentication: 'Password and IAM "
        f"database authentication'; or\n  {command}",
    )


def _parameters(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    marker: dict[str, str] = {}
    while True:
        page = _call(client, operation, **kwargs, **marker)
        yield from page.get("Parameters", [])
        if not page.get("Marker"):
            return
        marker = {"Marker": page["Marker"]}


@dataclass(frozen=True)
class _GroupApi:
    """How one kind of server names its parameter group, lists it and changes it."""

    describe: str  # the boto3 operation listing a group's parameters
    name_arg: str  # its argument naming the group
    command: str  # the AWS CLI command that changes a group
    option: str  # its option naming the group
    apply: str  # what follows ParameterValue=... in --parameters


_RDS_INSTANCE: Final = _GroupApi(
    "describe_db_parameters",
    "DBParameterGroupName",
    "aws rds modify-db-parameter-group",
    "--db-parameter-group-name",
    ",ApplyMethod=immediate",
)
_RDS_CLUSTER: Final = _GroupApi(
    "describe_db_cluster_parameters",
    "DBClusterParameterGroupName",
    "aws rds modify-db-cluster-parameter-group",
    "--db-cluster-parameter-group-name",
    ",ApplyMethod=immediate",
)
_REDSHIFT: Final = _GroupApi(
    "describe_cluster_parameters",
    "ParameterGroupName",
    "aws redshift modify-cluster-parameter-group",
    "--parameter-group-name",
    " (then reboot the cluster)",
)


def _group(server: dict[str, Any], db: DatabaseSpec) -> tuple[_GroupApi, str]:
    if db.engine == "redshift":
        return _REDSHIFT, server["ClusterParameterGroups"][0]["ParameterGroupName"]
    if db.is_cluster:
        return _RDS_CLUSTER, server["DBClusterParameterGroup"]
    return _RDS_INSTANCE, server["DBParameterGroups"][0]["DBParameterGroupName"]


def _parameter(
    client: Any, server: dict[str, Any], db: DatabaseSpec, name: str
) -> tuple[str | None, str, _GroupApi]:
    """(the value of parameter `name` in the server's parameter group or None, the group,
    how to change it)."""
    api, group = _group(server, db)
    found = _parameters(client, api.describe, **{api.name_arg: group})
    value = next((p.get("ParameterValue") for p in found if p.get("ParameterName") == name), None)
    return value, group, api


def _parameter_fix(
    api: _GroupApi, group: str, db: DatabaseSpec, name: str, value: str, apply: str = ""
) -> str:
    """The command that sets `name` to `value` in `group` (a default group: how to replace it)."""
    if group.startswith("default."):
        return (
            f"A default parameter group cannot be changed: create one for the engine's "
            f"family with {name} = {value}, attach it to {db.identifier} and "
            "reboot it (console: Parameter groups, Create; then Modify the server)."
        )
    return (
        f"{api.command} {api.option} {group} --region {db.region} --parameters "
        f"ParameterName={name},ParameterValue={value}{apply or api.apply}"
    )


def tls_enforced(client: Any, server: dict[str, Any], db: DatabaseSpec) -> str:
    """The engine's TLS parameter is on in the server's parameter group."""
    wanted = TLS_PARAMETER[db.engine]
    value, group, api = _parameter(client, server, db, wanted.name)
    fix = _parameter_fix(api, group, db, wanted.name, wanted.fix_value)
    if value is None:
        raise Unchecked(
            f"parameter group {group} gives no value for {wanted.name} (the engine's default "
            f"applies); set it to {wanted.fix_value} to be sure"
        )
    if value not in wanted.on:
        raise Failed(
            f"{wanted.name} is {value} in parameter group {group}: connections without TLS are "
            "accepted",
            fix,
        )
    return f"{wanted.name} = {value} in parameter group {group}"


# query_audit (docs/explanation/query-audit.md) ------------------------------------------------

PGAUDIT: Final = "pgaudit"
MYSQL_AUDIT_OPTION: Final = "MARIADB_AUDIT_PLUGIN"
# The log each engine exports to CloudWatch Logs, where `dbaccess activity` reads it.
AUDIT_LOG_EXPORT: Final = {
    "postgres": "postgresql",
    "aurora-postgresql": "postgresql",
    "mysql": "audit",
    "aurora-mysql": "audit",
}


def audit_extension(client: Any, server: dict[str, Any], db: DatabaseSpec) -> str:
    """The engine's audit extension is loaded: pgaudit in shared_preload_libraries (PostgreSQL
    and Aurora PostgreSQL, the parameter group), the MARIADB_AUDIT_PLUGIN option (RDS MySQL,
    the option group), server_audit_logging on (Aurora MySQL, the cluster parameter group)."""
    if db.is_postgres:
        return _pgaudit_preloaded(client, server, db)
    if db.engine == "aurora-mysql":
        value, group, api = _parameter(client, server, db, "server_audit_logging")
        if value not in ("1", "ON", "on"):
            raise Failed(
                f"server_audit_logging is {value or 'not set'} in cluster parameter group "
                f"{group}: Advanced Auditing logs nothing",
                _parameter_fix(api, group, db, "server_audit_logging", "1")
                + "\n  and set server_audit_events / server_audit_incl_users to what "
                "`dbaccess preview` shows",
            )
        return f"server_audit_logging = {value} in cluster parameter group {group}"
    return _mysql_audit_option(client, server, db)


def _pgaudit_preloaded(client: Any, server: dict[str, Any], db: DatabaseSpec) -> str:
    name = "shared_preload_libraries"
    value, group, api = _parameter(client, server, db, name)
    libraries = [v.strip() for v in (value or "").split(",") if v.strip()]
    if PGAUDIT in libraries:
        return f"{name} = {value} in parameter group {group}"
    wanted = "'" + ",".join([*libraries, PGAUDIT]) + "'"
    raise Failed(
        f"{name} is {value or 'not set'} in parameter group {group}: pgaudit is not loaded, "
        "so no login's pgaudit.log setting logs anything",
        _parameter_fix(api, group, db, name, wanted, ",ApplyMethod=pending-reboot (then reboot)"),
    )


def _mysql_audit_option(client: Any, server: dict[str, Any], db: DatabaseSpec) -> str:
    groups = [m.get("OptionGroupName", "") for m in server.get("OptionGroupMemberships", [])]
    for group in groups:
        found = _call(client, "describe_option_groups", OptionGroupName=group)
        for option_group in found.get("OptionGroupsList", []):
            if any(o.get("OptionName") == MYSQL_AUDIT_OPTION for o in option_group["Options"]):
                return f"{MYSQL_AUDIT_OPTION} in option group {group}"
    named = ", ".join(groups) or "none"
    raise Failed(
        f"no {MYSQL_AUDIT_OPTION} in the option group of {db.identifier} ({named}): the audit "
        "plugin is not loaded",
        f"aws rds add-option-to-option-group --option-group-name <its own option group> "
        f"--options 'OptionName={MYSQL_AUDIT_OPTION},OptionSettings=[{{Name=SERVER_AUDIT_EVENTS,"
        f"Value=<as dbaccess preview shows>}},{{Name=SERVER_AUDIT_INCL_USERS,Value=<as dbaccess "
        f"preview shows>}}]' --apply-immediately --region {db.region} (a default option group "
        "cannot be changed: create one and attach it)",
    )


def audit_log_exported(server: dict[str, Any], db: DatabaseSpec) -> str:
    """The audit lines reach CloudWatch Logs: the engine's log is among the server's exports."""
    log = AUDIT_LOG_EXPORT[db.engine]
    exported = server.get("EnabledCloudwatchLogsExports") or []
    if log in exported:
        return f"{log} log exported to CloudWatch Logs"
    kind, option = (
        ("cluster", "--db-cluster-identifier")
        if db.is_cluster
        else ("instance", "--db-instance-identifier")
    )
    raise Failed(
        f"the {log} log of {db.identifier} is not exported to CloudWatch Logs (exports: "
        f"{', '.join(exported) or 'none'}): the audit lines stay on the server, rotated away",
        f"aws rds modify-db-{kind} {option} {db.identifier} --cloudwatch-logs-export-configuration "
        f'\'{{"EnableLogTypes":["{log}"]}}\' --apply-immediately --region {db.region}',
    )
