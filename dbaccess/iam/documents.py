"""The building blocks of every IAM document db-access writes: statements, documents, sizes,
and the ARNs and names db-access owns (paths, the permissions boundary, the stack tag).

Sids start with NOREPO where Repokid must leave a statement alone: it would otherwise remove
rds-db and redshift grants, because Access Advisor never reports their use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from dbaccess.access.plan import DatabaseSpec

Policy = dict[str, Any]
VERSION: Final = "2012-10-17"
INLINE_POLICY_MAX: Final = 10_240  # IAM's inline role policy limit, whitespace not counted
MANAGED_POLICY_MAX: Final = 6_144  # a customer managed policy's (the boundary), likewise


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


# The services' roles (issuer, reaper, scheduler, bot, usage readers) live under their own
# path, so the deploy role's IAM writes name two paths db-access owns and nothing else.
SERVICE_ROLE_PATH: Final = "/dbaccess-service/"
# Every role db-access creates carries this customer managed policy as its permissions
# boundary (`dbaccess iam-policy boundary`); the operator creates it once per account, and the
# deploy role may neither create a role without it nor change it.
BOUNDARY_PATH: Final = "/dbaccess/"
BOUNDARY_NAME: Final = "dbaccess-boundary"
# KMS key ids are random, so no ARN names our keys before they exist: the stack tags them
# with its name, and the deploy role manages only keys that carry that tag.
STACK_TAG: Final = "dbaccess:stack"


def boundary_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:policy{BOUNDARY_PATH}{BOUNDARY_NAME}"


def s3_object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def trust_statement(
    sid: str, principals: Sequence[str], actions: Sequence[str], **extra: Any
) -> Policy:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": one_or_list(principals)},
        "Action": one_or_list(actions),
        **extra,
    }
