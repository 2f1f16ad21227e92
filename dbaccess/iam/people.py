"""A person's IAM: who may become their role (trust), the database-access policy of their
grants (with its dates and size), and the catalog bucket's policy their roles read through."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from dbaccess.access.plan import DatabaseSpec, Grant
from dbaccess.access.until import access_ends, iso_z
from dbaccess.iam.documents import (
    INLINE_POLICY_MAX,
    Policy,
    compact_size,
    document,
    one_or_list,
    rds_dbuser_arn,
    redshift_arn,
    statement,
    trust_statement,
    unique,
)

# Resource ids are "db-" / "cluster-" and 26 characters: policies are sized with ids of that
# length before AWS has answered the lookups.
RESOURCE_ID_PREFIX: Final = {"instance": "db-", "cluster": "cluster-"}
RESOURCE_ID_LENGTH: Final = 26


class PolicyTooLarge(ValueError):
    def __init__(self, email: str, account: str, grants: int, size: int) -> None:
        self.email = email
        self.message = (
            f"{email}: the database-access policy for account {account} would be {size} "
            f"characters for {grants} grants; IAM allows {INLINE_POLICY_MAX}"
        )
        self.fix = (
            "remove grants this person no longer needs, or give them fewer databases "
            "in this account"
        )
        super().__init__(f"{self.message}. {self.fix}")


# --- person roles ------------------------------------------------------------------------


def trust_policy(
    email: str,
    consoleme_role_arn: str | None,
    extra_principals: Sequence[str] = (),
    issuer_role_arn: str | None = None,
) -> Policy:
    """Who may become this person: ConsoleMe (which checks the role's tag), the person through
    an extra principal (their own session only), and the credential issuer on their behalf.
    ConsoleMe is optional (it is archived); settings then require an extra principal."""
    statements = []
    if consoleme_role_arn:
        # ConsoleMe assumes the role with RoleSessionName = the signed-in user, lower-cased,
        # and sets no SourceIdentity: the narrowest it allows is that session name.
        statements.append(
            trust_statement(
                "ConsoleMe",
                [consoleme_role_arn],
                ["sts:AssumeRole"],
                Condition={"StringEquals": {"sts:RoleSessionName": email}},
            )
        )
    if extra_principals:
        # Identity Center sessions are named after the user: the session must be this
        # person's, and must carry their email as SourceIdentity (the CLI sets it).
        statements.append(
            trust_statement(
                "PersonThroughExtraPrincipal",
                extra_principals,
                ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Condition={
                    "StringEquals": {"sts:SourceIdentity": email},
                    "StringLike": {"aws:userid": f"*:{email}"},
                },
            )
        )
    if issuer_role_arn:
        statements.append(
            trust_statement(
                "CredentialIssuer",
                [issuer_role_arn],
                ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Condition={"StringEquals": {"sts:SourceIdentity": email}},
            )
        )
    return document(statements)


# How long a person's access lasts in IAM: `until` is the last day of access (UTC), so AWS
# ends it at 00:00 UTC the day after. rds-db:connect is conditioned on aws:TokenIssueTime
# (when the role session was created): a public report (aws/aws-cli#5271) found aws:CurrentTime
# denies every IAM database login, and person roles are only used through temporary credentials,
# which always carry it. The Redshift actions use aws:CurrentTime, evaluated on each call.
RDS_DATE_KEY: Final = "aws:TokenIssueTime"
REDSHIFT_DATE_KEY: Final = "aws:CurrentTime"


def _later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    """Merge two ends of the same permission: the undated one (None) wins, else the later."""
    return None if a is None or b is None else max(a, b)


@dataclass(frozen=True)
class Permission:
    """One resource of a person's database-access policy, and the last day it is allowed."""

    sid: str  # the statement family: NOREPORdsDbConnect, NOREPORedshiftCredentials, ...
    actions: tuple[str, ...]
    resource: str
    until: dt.date | None
    date_key: str
    # Extra conditions that keep the statement to one database (Redshift: redshift:DbName).
    scope: tuple[tuple[str, str], ...] = ()
    # For reviewers: what this permission is about (login, database key).
    login: str = ""
    database: str = ""


def database_permissions(
    grants: Sequence[tuple[DatabaseSpec, Grant]], resource_ids: Mapping[str, str]
) -> list[Permission]:
    """Every (statement family, resource) the person gets, merged to one end date each.

    A login is server-wide: the same rds-db ARN granted by two databases of one server, or an
    undated and a dated grant, is one permission whose end is the later (undated wins).
    """
    ends: dict[tuple[str, str, tuple[tuple[str, str], ...]], dt.date | None] = {}
    meta: dict[tuple[str, str, tuple[tuple[str, str], ...]], Permission] = {}

    def add(
        db: DatabaseSpec,
        grant: Grant,
        family: str,
        action: str,
        resource: str,
        date_key: str,
        scope: tuple[tuple[str, str], ...] = (),
    ) -> None:
        key = (family, resource, scope)
        ends[key] = _later(ends[key], grant.until) if key in ends else grant.until
        meta.setdefault(
            key,
            Permission(
                family, (action,), resource, grant.until, date_key, scope, grant.login, db.key
            ),
        )

    for db, grant in grants:
        if db.uses_rds_iam:
            arn = rds_dbuser_arn(db, resource_ids[db.key], grant.login)
            add(db, grant, "NOREPORdsDbConnect", "rds-db:connect", arn, RDS_DATE_KEY)
            continue
        user = redshift_arn(db, "dbuser", grant.login)
        group = redshift_arn(db, "dbgroup", db.group_for(grant.access))
        # Credentials are asked for one database at a time: one statement per database, held
        # to it by redshift:DbName, so a login granted on database A never pairs with B's name.
        scope = (("redshift:DbName", db.name),)
        for resource in (redshift_arn(db, "dbname", db.name), user, group):
            credentials = "redshift:GetClusterCredentials"
            add(
                db,
                grant,
                "NOREPORedshiftCredentials",
                credentials,
                resource,
                REDSHIFT_DATE_KEY,
                scope,
            )
        add(
            db,
            grant,
            "NOREPORedshiftCreateUser",
            "redshift:CreateClusterUser",
            user,
            REDSHIFT_DATE_KEY,
        )
        add(db, grant, "NOREPORedshiftJoinGroup", "redshift:JoinGroup", group, REDSHIFT_DATE_KEY)
    return [dataclasses.replace(meta[key], until=until) for key, until in ends.items()]


def _statement_sid(family: str, scope: tuple[tuple[str, str], ...], until: dt.date | None) -> str:
    # Sids are [A-Za-z0-9]: the database name and the date, without separators.
    parts = [family, *(re.sub(r"[^A-Za-z0-9]", "", v).capitalize() for _, v in scope)]
    if until is not None:
        parts.append("Until" + until.strftime("%Y%m%d"))
    return "".join(parts)


def database_access_policy(
    grants: Sequence[tuple[DatabaseSpec, Grant]],
    resource_ids: Mapping[str, str],
    catalog_object_arn: str,
) -> Policy:
    """The person's `database-access` policy in one account.

    resource_ids maps each PostgreSQL database key to its DbiResourceId (instance) or
    DbClusterResourceId (Aurora). Redshift ARNs use the cluster id from access.yaml.
    Permissions with the same statement family, scope and end share one statement; a dated
    one carries `DateLessThan` on its key, ending at 00:00 UTC the day after `until`.
    """
    grouped: dict[tuple[str, tuple[tuple[str, str], ...], dt.date | None], list[Permission]] = {}
    for permission in database_permissions(grants, resource_ids):
        key = (permission.sid, permission.scope, permission.until)
        grouped.setdefault(key, []).append(permission)
    statements = []
    for (family, scope, until), members in sorted(grouped.items(), key=_statement_order):
        condition: dict[str, dict[str, str]] = {}
        if scope:
            condition["StringEquals"] = dict(scope)
        if until is not None:
            condition["DateLessThan"] = {members[0].date_key: iso_z(access_ends(until))}
        statements.append(
            statement(
                _statement_sid(family, scope, until),
                members[0].actions,
                unique(m.resource for m in members),
                **({"Condition": condition} if condition else {}),
            )
        )
    statements.append(statement("NOREPOCatalogRead", ["s3:GetObject"], [catalog_object_arn]))
    return document(statements)


_FAMILY_ORDER: Final = (
    "NOREPORdsDbConnect",
    "NOREPORedshiftCredentials",
    "NOREPORedshiftCreateUser",
    "NOREPORedshiftJoinGroup",
)


def _statement_order(
    item: tuple[tuple[str, tuple[tuple[str, str], ...], dt.date | None], list[Permission]],
) -> tuple[int, tuple[tuple[str, str], ...], bool, dt.date]:
    (family, scope, until), _ = item  # undated statements first, then by end date
    return (_FAMILY_ORDER.index(family), scope, until is not None, until or dt.date.min)


def sized_resource_ids(grants: Sequence[tuple[DatabaseSpec, Grant]]) -> dict[str, str]:
    """Stand-in resource ids before AWS has answered: one per server, of the longest length."""
    return {
        db.key: RESOURCE_ID_PREFIX["cluster" if db.is_cluster else "instance"]
        + hashlib.sha256(repr(db.server).encode()).hexdigest()[:RESOURCE_ID_LENGTH]
        for db, _ in grants
    }


def check_policy_size(
    email: str,
    account: str,
    grants: Sequence[tuple[DatabaseSpec, Grant]],
    catalog_object_arn: str,
) -> None:
    """Raise PolicyTooLarge when the policy could exceed IAM's limit: sized with the longest
    ids AWS issues; conditions, dates and names are the real ones."""
    policy = database_access_policy(grants, sized_resource_ids(grants), catalog_object_arn)
    size = compact_size(policy)
    if size > INLINE_POLICY_MAX:
        raise PolicyTooLarge(email, account, len(grants), size)


# --- the catalog bucket --------------------------------------------------------------------


def catalog_bucket_policy(bucket_arn: str, accounts: Sequence[str], people_prefix: str) -> Policy:
    """TLS only; person roles in the configured accounts may read under people/.

    Which object each role reads is narrowed by the role's own policy (its own key only):
    across accounts S3 needs both to allow, so the bucket policy stays one statement however
    many people there are (bucket policies stop at 20 KB).
    """
    deny_plain_http = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    principals = [f"arn:aws:iam::{a}:root" for a in sorted(set(accounts))]
    person_roles = statement(
        "PersonRolesReadPeopleObjects",
        ["s3:GetObject"],
        [f"{bucket_arn}/{people_prefix}*"],
        Principal={"AWS": one_or_list(principals)},
        Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/dbaccess/dbaccess-*"}},
    )
    return document([deny_plain_http, person_roles])
