"""The instances audit and sweep visit on each server: sessions (pg_stat_activity, PROCESSLIST)
and the calls that end them (pg_terminate_backend, mysql.rds_kill) are per instance, and a
grant's token opens any endpoint of an Aurora cluster, readers included.

An RDS instance is the one host access.yaml names. An Aurora cluster is every member
instance, found with rds:DescribeDBClusters (its members) and rds:DescribeDBInstances (each
member's endpoint), writer first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.access.plan import DatabaseSpec


@dataclass(frozen=True)
class Instance:
    """One database server process: an RDS instance or a member of an Aurora cluster."""

    name: str  # the RDS instance id (or, reached through a DSN, host:port)
    host: str
    port: int


# A database -> the instances of its server, in the order they are visited.
Members = Callable[[DatabaseSpec], list[Instance]]


class MembersUnknown(Exception):
    """The cluster's members could not be listed; the message says why (no secret in it)."""


def the_instance(db: DatabaseSpec) -> list[Instance]:
    """The host and port access.yaml names: an RDS instance, or how a cluster is reached when
    its members are not looked up."""
    return [Instance(db.identifier, db.host, db.port)]


def cluster_members(rds: Any, cluster_id: str) -> list[Instance]:
    """Every member of Aurora cluster `cluster_id` with its instance endpoint, writer first. A
    member without an endpoint yet (being created) has no session to end and is left out."""
    try:
        clusters = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
        members = sorted(
            clusters[0].get("DBClusterMembers", []),
            key=lambda m: (not m.get("IsClusterWriter"), m["DBInstanceIdentifier"]),
        )
        found = []
        for member in members:
            name = member["DBInstanceIdentifier"]
            (instance,) = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
            endpoint = instance.get("Endpoint")
            if endpoint:
                found.append(Instance(name, endpoint["Address"], int(endpoint["Port"])))
    except (BotoCoreError, ClientError) as exc:
        raise MembersUnknown(f"listing the instances of cluster {cluster_id}: {exc}") from None
    if not found:
        raise MembersUnknown(f"cluster {cluster_id} has no instance with an endpoint")
    return found


def rds_members(rds_for: Callable[[DatabaseSpec], Any]) -> Members:
    """Members looked up in AWS for Aurora clusters (`rds_for(db)`: an RDS client in the
    database's account and region); RDS instances are the host access.yaml names."""

    def members(db: DatabaseSpec) -> list[Instance]:
        if not db.is_cluster:
            return the_instance(db)
        return cluster_members(rds_for(db), db.identifier)

    return members
