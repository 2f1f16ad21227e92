"""IAM policy documents as pure functions (no Pulumi): trust, database access, catalog bucket.

Sids start with NOREPO: Repokid leaves such statements alone. It would otherwise remove
rds-db and redshift grants, because Access Advisor never reports their use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from dbaccess.access.plan import DatabaseSpec, Grant

Policy = dict[str, Any]
VERSION: Final = "2012-10-17"
INLINE_POLICY_MAX: Final = 10_240  # IAM's inline role policy limit, whitespace not counted
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


def one_or_list(items: Sequence[str]) -> str | list[str]:
    """IAM's own style: a single value plainly, several as a sorted list."""
    return items[0] if len(items) == 1 else sorted(items)


def statement(sid: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Policy:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": one_or_list(actions),
        "Resource": one_or_list(resources),
        **extra,
    }


def document(statements: Iterable[Policy]) -> Policy:
    return {"Version": VERSION, "Statement": list(statements)}


def compact_size(policy: Policy) -> int:
    return len(json.dumps(policy, separators=(",", ":")))


# --- ARNs ------------------------------------------------------------------------------


def rds_dbuser_arn(db: DatabaseSpec, resource_id: str, login: str) -> str:
    return f"arn:aws:rds-db:{db.region}:{db.account}:dbuser:{resource_id}/{login}"


def redshift_arn(db: DatabaseSpec, kind: str, name: str) -> str:
    return f"arn:aws:redshift:{db.region}:{db.account}:{kind}:{db.identifier}/{name}"


def role_arn(account: str, role_name: str) -> str:
    return f"arn:aws:iam::{account}:role/dbaccess/{role_name}"


def s3_object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


# --- person roles ------------------------------------------------------------------------


def _trust(sid: str, principals: Sequence[str], actions: Sequence[str], **extra: Any) -> Policy:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": one_or_list(principals)},
        "Action": one_or_list(actions),
        **extra,
    }


def trust_policy(
    email: str,
    consoleme_role_arn: str,
    extra_principals: Sequence[str] = (),
    issuer_role_arn: str | None = None,
) -> Policy:
    """Who may become this person: ConsoleMe (which checks the role's tag), the person through
    an extra principal (their own session only), and the credential issuer on their behalf."""
    statements = [_trust("ConsoleMe", [consoleme_role_arn], ["sts:AssumeRole"])]
    if extra_principals:
        # Identity Center sessions are named after the user: the session must be this
        # person's, and must carry their email as SourceIdentity (the CLI sets it).
        statements.append(
            _trust(
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
            _trust(
                "CredentialIssuer",
                [issuer_role_arn],
                ["sts:AssumeRole", "sts:SetSourceIdentity"],
                Condition={"StringEquals": {"sts:SourceIdentity": email}},
            )
        )
    return document(statements)


def database_access_policy(
    grants: Sequence[tuple[DatabaseSpec, Grant]],
    resource_ids: Mapping[str, str],
    catalog_object_arn: str,
) -> Policy:
    """The person's `database-access` policy in one account.

    resource_ids maps each PostgreSQL database key to its DbiResourceId (instance) or
    DbClusterResourceId (Aurora). Redshift ARNs use the cluster id from access.yaml.
    """
    rds: list[str] = []
    credentials: list[str] = []
    users: list[str] = []
    groups: list[str] = []
    for db, grant in grants:
        if db.is_postgres:
            rds.append(rds_dbuser_arn(db, resource_ids[db.key], grant.login))
        else:
            user = redshift_arn(db, "dbuser", grant.login)
            credentials += [user, redshift_arn(db, "dbname", db.name)]
            users.append(user)
            groups.append(redshift_arn(db, "dbgroup", db.group_for(grant.access)))
    statements = []
    if rds:
        statements.append(statement("NOREPORdsDbConnect", ["rds-db:connect"], _unique(rds)))
    if credentials:
        statements += [
            statement(
                "NOREPORedshiftCredentials",
                ["redshift:GetClusterCredentials"],
                _unique(credentials),
            ),
            statement("NOREPORedshiftCreateUser", ["redshift:CreateClusterUser"], _unique(users)),
            statement("NOREPORedshiftJoinGroup", ["redshift:JoinGroup"], _unique(groups)),
        ]
    statements.append(statement("NOREPOCatalogRead", ["s3:GetObject"], [catalog_object_arn]))
    return document(statements)


def check_policy_size(
    email: str,
    account: str,
    grants: Sequence[tuple[DatabaseSpec, Grant]],
    catalog_object_arn: str,
) -> None:
    """Raise PolicyTooLarge when the policy could exceed IAM's limit with the longest ids."""
    # One distinct id per database, of the longest length AWS uses.
    longest = {
        db.key: RESOURCE_ID_PREFIX["cluster" if db.is_cluster else "instance"]
        + hashlib.sha256(db.key.encode()).hexdigest()[:RESOURCE_ID_LENGTH]
        for db, _ in grants
    }
    size = compact_size(database_access_policy(grants, longest, catalog_object_arn))
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


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
