"""What the Pulumi dynamic providers of this project share (components/mysql_users.py,
components/postgres_role_settings.py): their inputs without the engine's own keys, and a diff
that replaces when the object's identity changes. Not a component: helpers for the providers,
which the state pickles by reference (keep this module importable as `components.dynamic`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.dynamic import DiffResult


def inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own inputs: the engine adds its keys (`__provider`: the provider,
    pickled) to olds and news."""
    return {k: v for k, v in props.items() if not k.startswith("__")}


def diff(olds: Mapping[str, Any], news: Mapping[str, Any], identity: Sequence[str]) -> DiffResult:
    """Changed when any input differs; replaced when an `identity` input does (another user,
    another server): the old one goes first, since the new one has the same name there."""
    old, new = inputs(olds), inputs(news)
    replaces = [k for k in identity if old.get(k) != new.get(k)]
    return DiffResult(changes=old != new, replaces=replaces, delete_before_replace=True)
