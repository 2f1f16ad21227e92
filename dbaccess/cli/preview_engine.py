"""Run the Pulumi program offline under Pulumi's own mock engine and record what it registers.

This is how `dbaccess preview` shows a plan without AWS, the Pulumi CLI or a network, and how
the program tests run it. Only this module and preview.py import pulumi inside dbaccess/.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import gc
import hashlib
import json
import os
import runpy
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from dbaccess.access.errors import InvalidInput, Problem
from dbaccess.access.loader import load_access_file
from dbaccess.deployment import Deployment, prepare
from dbaccess.iam import documents
from dbaccess.stack.file import StackConfig
from dbaccess.stack.settings import parse_settings

UNKNOWN = "(known after deploy)"
EVALUATION_DATE = "DBACCESS_EVALUATION_DATE"

# (lookup kind, identifier) -> the id AWS would answer
LookupIds = Callable[[str, str], str]


def unknown_ids(kind: str, identifier: str) -> str:
    return UNKNOWN


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: Mapping[str, Any]


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers like AWS would where the answer follows from the inputs (ARNs of named roles,
    auto-names); lookups answer through `lookup_ids`."""

    # The account the stack's default provider deploys to is only known to AWS credentials;
    # offline, ARNs of its resources carry this placeholder.
    DEFAULT_ACCOUNT = "000000000000"

    def __init__(
        self, lookup_ids: LookupIds = unknown_ids, default_account: str = DEFAULT_ACCOUNT
    ) -> None:
        self.lookup_ids = lookup_ids
        self.default_account = default_account
        self.provider_accounts: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            allowed = state.get("allowedAccountIds") or "[]"
            accounts = json.loads(allowed) if isinstance(allowed, str) else allowed
            if accounts:
                self.provider_accounts[args.name] = accounts[0]
            return f"{args.name}-id", state
        if args.typ in _AUTO_NAMED:
            return self._auto_named(args, state)
        if args.typ == "aws:iam/role:Role" and "name" not in state:
            # A service role: auto-named, default path, in the default provider's account.
            state["name"] = f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:7]}"
            account = self._account(args.provider) or self.default_account
            path = state.get("path") or "/"
            state["arn"] = f"arn:aws:iam::{account}:role{path}{state['name']}"
            return state["name"], state
        if args.typ == "aws:iam/role:Role":
            person_account = self._account(args.provider)
            state["arn"] = (
                documents.role_arn(person_account, state["name"]) if person_account else UNKNOWN
            )
            return state["name"], state
        if args.typ == "aws:s3/bucket:Bucket":
            # Pulumi auto-names: the logical name plus seven random hex digits.
            suffix = hashlib.sha256(args.name.encode()).hexdigest()[:7]
            state["bucket"] = f"{args.name}-{suffix}"
            state["arn"] = f"arn:aws:s3:::{state['bucket']}"
            return state["bucket"], state
        return f"{args.name}-id", state

    def _auto_named(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Name and ARN as AWS would give them to the credential issuer's resources."""
        account = self._account(args.provider) or self.default_account
        region: str = pulumi.Config("aws").get("region") or "us-east-1"
        suffix = hashlib.sha256(args.name.encode()).hexdigest()[:7]
        name = str(state.get("name") or state.get("layerName") or f"{args.name}-{suffix}")
        service, resource = _AUTO_NAMED[args.typ]
        if service == "iam":
            region = ""
        elif service == "kms":
            name = str(uuid.uuid5(uuid.NAMESPACE_URL, args.name))
        state["arn"] = f"arn:aws:{service}:{region}:{account}:{resource.format(name=name)}"
        if args.typ == "aws:dynamodb/table:Table":
            state["streamArn"] = f"{state['arn']}/stream/{UNKNOWN}"
        elif args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        elif args.typ == "aws:kms/key:Key":
            state["keyId"] = name
        elif args.typ == "aws:lambda/layerVersion:LayerVersion":
            state["arn"] += ":1"
        state["name"] = name
        return name, state

    def _account(self, provider_ref: str | None) -> str | None:
        # A provider reference is "<urn>::<id>"; the URN ends with the provider's name.
        if not provider_ref:
            return None
        urn = provider_ref.rsplit("::", 1)[0]
        return self.provider_accounts.get(urn.rsplit("::", 1)[-1])

    def call(  # type: ignore[override]  # returning the dict alone is allowed too
        self, args: pulumi.runtime.MockCallArgs
    ) -> dict[str, Any]:
        if args.token == "aws:rds/getInstance:getInstance":
            identifier = args.args["dbInstanceIdentifier"]
            return {
                "dbInstanceIdentifier": identifier,
                "resourceId": self.lookup_ids("instance", identifier),
            }
        if args.token == "aws:eks/getCluster:getCluster":
            # Placeholders: the cluster's endpoint, CA and OIDC issuer are AWS's answer.
            name = args.args["name"]
            return {
                "name": name,
                "endpoint": UNKNOWN,
                "certificateAuthorities": [{"data": UNKNOWN}],
                "identities": [
                    {"oidcs": [{"issuer": f"https://oidc.eks.amazonaws.com/id/{UNKNOWN}"}]}
                ],
            }
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            host = str(args.args.get("url", "")).removeprefix("https://")
            return {"arn": f"arn:aws:iam::{self.default_account}:oidc-provider/{host}"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = self._account(args.provider) or self.default_account
            return {"accountId": account, "arn": f"arn:aws:iam::{account}:root", "userId": ""}
        if args.token == "aws:rds/getCluster:getCluster":
            identifier = args.args["clusterIdentifier"]
            return {
                "clusterIdentifier": identifier,
                "clusterResourceId": self.lookup_ids("cluster", identifier),
            }
        return {}


# type -> (ARN service, ARN resource) for auto-named resources (and named ones without a path)
_AUTO_NAMED = {
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}"),
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:kms/key:Key": ("kms", "key/{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:lambda/function:Function": ("lambda", "function:{name}"),
    "aws:lambda/layerVersion:LayerVersion": ("lambda", "layer:{name}"),
}


class RecordingMonitor(MockMonitor):
    """The mock monitor, remembering each registration with its parent (for the plan tree)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
            )
        )
        return response


def validate_stack(
    program_dir: Path, config: StackConfig, today: dt.date | None = None
) -> Deployment:
    """Check the settings and the access file together; every problem in one InvalidInput."""
    problems: list[Problem] = []
    settings = plan = None
    try:
        settings = parse_settings(config.raw_settings, config.source, prefix=("config",))
    except InvalidInput as exc:
        problems += exc.problems
    access_file = str(config.raw_settings.get("accessFile") or "access.yaml")
    try:
        # Relative to where the user stands, so messages read "access.yaml:12:5".
        path = program_dir / access_file
        shown = os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else path
        plan = load_access_file(shown, today=today)
    except InvalidInput as exc:
        problems += exc.problems
    if problems or settings is None or plan is None:
        raise InvalidInput(problems)
    return prepare(plan, settings, config.source, prefix=("config",))


@dataclass(frozen=True)
class ProgramRun:
    registrations: list[Registration]
    outputs: dict[str, Any]


@contextmanager
def _program_environment(program_dir: Path, today: dt.date | None) -> Iterator[None]:
    """The Pulumi CLI runs a program from its directory with that directory importable."""
    previous = Path.cwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    if today:
        os.environ[EVALUATION_DATE] = today.isoformat()
    try:
        yield
    finally:
        os.environ.pop(EVALUATION_DATE, None)
        os.chdir(previous)
        sys.path.remove(str(program_dir))


def run_under_mocks(
    body: Callable[[], None],
    config: StackConfig,
    mocks: pulumi.runtime.Mocks | None = None,
    *,
    preview: bool = True,
) -> ProgramRun:
    """Run `body` as a Pulumi program under the mock engine in a fresh context."""
    monitor = RecordingMonitor(mocks or OfflineMocks())

    def run() -> ProgramRun:
        pulumi.runtime.set_all_config(config.values, config.secret_keys)
        pulumi.runtime.set_mocks(
            monitor.mocks,
            project=config.project,
            stack=config.stack,
            preview=preview,
            monitor=monitor,
        )
        _sync_await(run_pulumi_func(body))
        root = pulumi.runtime.get_root_resource()
        outputs = {
            name: _sync_await(pulumi.Output.from_input(value).future())
            for name, value in getattr(root, "outputs", {}).items()
        }
        return ProgramRun(list(monitor.registrations), outputs)

    # A fresh context: Pulumi keeps its root stack, config and settings in context variables.
    with _long_lived_heap():
        return contextvars.Context().run(run)


# Collect young garbage as usual (a plan leaves plenty), but almost never walk the whole heap:
# every registration adds dozens of Outputs and futures that live until the run ends, so full
# collections cost more the bigger the plan and free almost nothing. Measured at 1,000 people
# (benchmarks/preview_scale.py): the same peak memory and about 40% less time.
_PLAN_GC_THRESHOLDS = (100_000, 50, 1_000)


@contextmanager
def _long_lived_heap() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(*_PLAN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def run_program(
    program_dir: Path,
    config: StackConfig,
    mocks: pulumi.runtime.Mocks | None = None,
    *,
    today: dt.date | None = None,
    preview: bool = True,
) -> ProgramRun:
    """Run __main__.py under the mock engine; return what it registered.

    `today` evaluates expiry on another date (the program reads DBACCESS_EVALUATION_DATE).
    """

    program = program_dir / "__main__.py"
    if not program.is_file():
        raise InvalidInput(
            [
                Problem(
                    str(program),
                    1,
                    1,
                    f"{program} does not exist",
                    "run from the project directory (the checkout with __main__.py and "
                    "components/), or pass --program-dir",
                )
            ]
        )

    def main() -> None:
        with _program_environment(program_dir, today):
            runpy.run_path(str(program))

    return run_under_mocks(main, config, mocks, preview=preview)
