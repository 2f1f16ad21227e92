"""`dbaccess doctor --operator`: what must be true before db-access is deployed, per database
of access.yaml and per stack, one line a check (✓, ✗ with the fix, or ? could not check).

Per database: the instance or cluster exists in its account and region (asked through the
account's deploy role, as `pulumi up` sees it), IAM database authentication is on, TLS is
enforced; where a login on it declares query_audit, the audit extension is loaded and its
log exported to CloudWatch Logs; as its admin login (an IAM token, as audit connects; or
--dsn): the admin signs in with IAM and the bootstrap has run. Per stack: PrivateBin answers
and takes two pastes in a row. The checks live in dbaccess.preflight; here they are run and printed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.access.plan import AccessPlan, DatabaseSpec
from dbaccess.cli.common import require_extra
from dbaccess.cli.credential_text import missing_ca_bundle
from dbaccess.cli.doctor import Blocked, Report, privatebin_checks
from dbaccess.cli.identity import EngineerError
from dbaccess.credentials import classify_aws_error
from dbaccess.preflight import Failed, aws
from dbaccess.stack.settings import Settings

SESSION_NAME: Final = "dbaccess-doctor"
ASSUME_FIX: Final = (
    "These credentials must be allowed to assume the account's role in dbaccess:accounts "
    "(its trust policy names the CI role that runs `pulumi up`): run this as that role."
)
CONNECT_FIX: Final = """\
The server refused or did not answer the admin login. In order:
  - IAM database authentication on (the line above), the network (run this where `pulumi up` runs);
  - the admin login exists and is in rds_iam: {bootstrap} --dsn <the master user's URL>;
  - the deploy role may rds-db:connect as it: `dbaccess iam-policy deploy`."""


@dataclass(frozen=True)
class OperatorInput:
    plan: AccessPlan
    settings: Settings
    stack: str
    keys: Sequence[str]  # the databases to check (all when empty)
    dsn: str | None  # with one PostgreSQL database: connect with this instead of IAM
    ca_bundle: Path
    privatebin_url: str | None  # --privatebin-url, else the stack's


class _Accounts:
    """One deploy-role session per account, assumed once (a failure is remembered too)."""

    def __init__(self, accounts: Mapping[str, str]) -> None:
        self._roles = accounts
        self._sessions: dict[str, boto3.Session | Failed] = {}

    def session(self, db: DatabaseSpec) -> tuple[boto3.Session, str]:
        role = self._roles[db.account]
        if db.account not in self._sessions:
            self._sessions[db.account] = self._assume(role, db.region)
        found = self._sessions[db.account]
        if isinstance(found, Failed):
            raise found
        return found, f"{role}"

    @staticmethod
    def _assume(role: str, region: str) -> boto3.Session | Failed:
        try:
            keys = boto3.client("sts", region_name=region).assume_role(
                RoleArn=role, RoleSessionName=SESSION_NAME, DurationSeconds=900
            )["Credentials"]
        except (BotoCoreError, ClientError) as exc:
            return Failed(classify_aws_error(exc, f"assuming {role}").message, ASSUME_FIX)
        return boto3.Session(
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )


def audited_servers(plan: AccessPlan) -> frozenset[tuple[str, str, str, str]]:
    """The servers where some login declares query_audit (its settings are per login, its
    prerequisites per server)."""
    return frozenset(
        plan.databases[g.database].server for g in plan.grants() if g.query_audit != "none"
    )


def _aws_checks(
    report: Report, accounts: _Accounts, db: DatabaseSpec, *, audited: bool = False
) -> None:
    session = report.must("deploy role assumed", lambda: accounts.session(db))
    service = "redshift" if db.engine == "redshift" else "rds"
    client = session.client(service, region_name=db.region)
    kind = (
        "Redshift cluster"
        if db.engine == "redshift"
        else "cluster"
        if db.is_cluster
        else "instance"
    )
    server = report.must(f"{kind} exists", lambda: aws.describe(client, db))
    if db.uses_rds_iam:
        report.may(
            "IAM database authentication", lambda: (True, aws.iam_authentication(server, db))
        )
    report.may("TLS enforced", lambda: (True, aws.tls_enforced(client, server, db)))
    if audited:
        report.may(
            "query audit: extension loaded",
            lambda: (True, aws.audit_extension(client, server, db)),
        )
        report.may("query audit: log exported", lambda: (True, aws.audit_log_exported(server, db)))


def _connector(given: OperatorInput, db: DatabaseSpec) -> Callable[[DatabaseSpec], Any]:
    """A connection to the server as its admin: the host access.yaml names (a cluster's
    writer endpoint; the admin and the catalog are the same on every member), or the first
    host of --dsn."""
    from dbaccess.audit.instances import the_instance
    from dbaccess.postgres.connect import dsn_connector, iam_connector

    if given.dsn is not None:
        reach = dsn_connector(given.dsn, db)
        return lambda target: reach.connect(target, reach.members(target)[0])
    if not given.ca_bundle.is_file():
        raise missing_ca_bundle(given.ca_bundle, "postgres")  # RDS and Aurora
    if db.is_mysql:
        from dbaccess.mysql.audit import iam_mysql_connector

        connect = iam_mysql_connector(given.settings.accounts, given.ca_bundle)
        return lambda target: connect(target, the_instance(target)[0])
    reach = iam_connector(
        given.settings.accounts,
        given.ca_bundle,
        lambda region: boto3.client("sts", region_name=region),
    )
    return lambda target: reach.connect(target, the_instance(target)[0])


def _connect(given: OperatorInput, db: DatabaseSpec) -> tuple[Any, str]:
    from dbaccess.audit.results import Unreachable
    from dbaccess.preflight import BOOTSTRAP

    how = (
        "--dsn" if given.dsn is not None else "an IAM token signed by the deploy role, TLS verified"
    )
    try:
        conn = _connector(given, db)(db)
    except Unreachable as exc:
        raise Failed(
            f"{db.admin_login} could not sign in to {db.host}:{db.port}: {exc}",
            CONNECT_FIX.format(bootstrap=BOOTSTRAP.format(key=db.key)),
        ) from None
    return conn, f"{db.admin_login} on {db.host}:{db.port} with {how}"


def _run(check: Callable[[Any, DatabaseSpec], str], conn: Any, db: DatabaseSpec) -> Any:
    return lambda: (True, check(conn, db))


def _server_checks(report: Report, given: OperatorInput, db: DatabaseSpec) -> None:
    from dbaccess.mysql import preflight as mysql_preflight
    from dbaccess.postgres import preflight as postgres_preflight

    conn = report.must("admin login signs in", lambda: _connect(given, db))
    checks = mysql_preflight.CHECKS if db.is_mysql else postgres_preflight.CHECKS
    with closing(conn):
        for step, check in checks:
            report.may(step, _run(check, conn, db))


def _database(report: Report, given: OperatorInput, accounts: _Accounts, db: DatabaseSpec) -> None:
    kind = "cluster" if db.is_cluster else "instance"
    print(f"{db.key}: {db.engine} {kind} {db.identifier} (account {db.account}, {db.region})")
    # Without the role or the server, its own checks may still work (--dsn).
    with suppress(Blocked):
        _aws_checks(report, accounts, db, audited=db.server in audited_servers(given.plan))
    if db.admin_login is None:  # Redshift: IAM through GetClusterCredentials, no admin login
        return
    try:
        _server_checks(report, given, db)
    except Blocked:
        print(f"    (the checks as {db.admin_login} need it to sign in)")


def operator_input(
    file: Path,
    stack: str,
    database: str | None,
    dsn: str | None,
    ca_bundle: Path,
    privatebin_url: str | None,
) -> OperatorInput:
    """The access file, the stack's settings and the options, checked; exit 2 otherwise."""
    from dbaccess.access import InvalidInput, load_access_file
    from dbaccess.access.errors import did_you_mean
    from dbaccess.cli.common import Format, exit_invalid
    from dbaccess.stack.file import load_stack_config
    from dbaccess.stack.settings import check_accounts, parse_settings

    require_extra("psycopg", "audit", "connects to the databases as their admin and needs psycopg")
    try:
        plan = load_access_file(file)
        config = load_stack_config(Path("."), stack)
        settings = parse_settings(config.raw_settings, config.source, prefix=("config",))
        check_accounts(plan, settings, config.source, prefix=("config",))
    except InvalidInput as exc:
        exit_invalid(exc, Format.text)
    if database is not None and database not in plan.databases:
        choices = list(plan.databases)
        raise EngineerError(
            f"no database '{database}' in {file}{did_you_mean(database, choices)}",
            f"databases: {', '.join(choices)}",
        )
    if dsn is not None and (database is None or not plan.databases[database].is_postgres):
        raise EngineerError(
            "--dsn reaches one PostgreSQL database: name it",
            "dbaccess doctor --operator KEY --dsn URL",
        )
    return OperatorInput(
        plan=plan,
        settings=settings,
        stack=stack,
        keys=[database] if database else [],
        dsn=dsn,
        ca_bundle=ca_bundle,
        privatebin_url=privatebin_url or settings.privatebinUrl or None,
    )


def operator_diagnose(given: OperatorInput, report: Report) -> None:
    accounts = _Accounts(given.settings.accounts)
    for key, db in given.plan.databases.items():
        if not given.keys or key in given.keys:
            _database(report, given, accounts, db)
    print(f"stack {given.stack}:")
    privatebin_checks(report, given.privatebin_url)
