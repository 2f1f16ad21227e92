"""`dbaccess list / token / connect` against moto (STS, IAM, S3, Redshift), as an engineer sees it.

GIVEN the catalog the program builds from the repository's access.yaml, published to (moto) S3,
WHEN an engineer runs a command with whichever AWS credentials they have,
THEN they get their databases / a credential, or one clear message saying what to do.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shlex
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication
from typer.testing import CliRunner

from dbaccess.access import AccessPlan, load_access_file
from dbaccess.catalog import Catalog, build_catalog, build_person_object, to_json
from dbaccess.cli import app
from dbaccess.cli.catalog_cache import cache_dir, fetch_catalog, person_object_location
from dbaccess.cli.identity import resolve_identity
from dbaccess.credentials import Credential, issue_credential, session_name_for
from dbaccess.iam.documents import role_arn
from dbaccess.iam.people import trust_policy

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # moto's default account; also orders' account in access.yaml
STAGING = "210987654321"
REGION = "eu-west-1"
BUCKET = "dbaccess-catalog"
CATALOG_URL = f"s3://{BUCKET}/prod/catalog.json"
FATIMA = "fatima.zahra@example.com"  # orders (read-only), payments-staging (read-only)
PRIYA = "priya.raman@example.com"  # analytics (Redshift, read-only)
RESOURCE_IDS = {"orders": "db-ORDERS0000000000000000000", "inventory": "db-INV"}


# --- GIVEN ------------------------------------------------------------------------------------


def load_plan(on: dt.date = dt.date(2026, 11, 23)) -> AccessPlan:
    return load_access_file(ROOT / "access.yaml", today=on)


def roles_of(plan: AccessPlan, email: str) -> dict[str, str]:
    person = plan.people[email]
    return {a: role_arn(a, person.role_name) for a in plan.accounts_of(person)}


def person_json(plan: AccessPlan, email: str) -> str:
    person = plan.people[email]
    return to_json(build_person_object(plan, person, roles_of(plan, email), RESOURCE_IDS))


def catalog_json(plan: AccessPlan) -> str:
    role_arns = {email: roles_of(plan, email) for email in plan.people}
    return to_json(build_catalog(plan, role_arns, RESOURCE_IDS))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean engineer's machine: no AWS config, no dbaccess config, caches under tmp."""
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "DBACCESS_EMAIL",
        "DBACCESS_CATALOG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


@pytest.fixture
def aws(home: Path) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def published(aws: None) -> AccessPlan:
    """The program's catalog objects in S3, and the person roles in IAM."""
    plan = load_plan()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="prod/catalog.json", Body=catalog_json(plan))
    iam = boto3.client("iam")
    for email, person in plan.people.items():
        s3.put_object(Bucket=BUCKET, Key=f"prod/people/{email}.json", Body=person_json(plan, email))
        iam.create_role(
            Path="/dbaccess/",
            RoleName=person.role_name,
            AssumeRolePolicyDocument=json.dumps(
                trust_policy(email, f"arn:aws:iam::{ACCOUNT}:role/consoleme")
            ),
            Tags=[{"Key": "consoleme-authorized", "Value": email}],
        )
    return plan


def create_analytics_cluster() -> None:
    """The sample's Redshift cluster `analytics`, in moto."""
    boto3.client("redshift", region_name=REGION).create_cluster(
        ClusterIdentifier="analytics-dwh",
        NodeType="ra3.xlplus",
        MasterUsername="admin",
        MasterUserPassword="Admin-passw0rd",
        DBName="analytics",
    )


def person_role_env(email: str, role_name: str) -> dict[str, str]:
    """Credentials as weep/ConsoleMe hand them out: already the person's role, the session
    named after the person."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=role_arn(ACCOUNT, role_name), RoleSessionName=email
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def dbaccess(*args: str, env: Mapping[str, str | None] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=dict(env or {}))
    assert "Traceback" not in result.output + result.stderr, result.stderr
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


# --- who am I ---------------------------------------------------------------------------------


def test_already_in_person_role_needs_nothing_else(published: AccessPlan) -> None:
    env = {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}

    result = dbaccess("list", "--verbose", env=env)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == [
        "DATABASE",
        "ACCESS",
        "ENGINE",
        "HOST",
        "EXPIRES",
    ]
    assert "orders            read-only  postgres" in result.stdout
    assert "payments-staging  read-only  aurora-postgresql" in result.stdout
    assert "already in person role dbaccess-fatimazahra" in result.stderr
    assert f"email {FATIMA} (from the role session name)" in result.stderr


def test_already_in_role_email_from_the_role_tag(published: AccessPlan) -> None:
    # A session not named after the person (e.g. an admin's weep session): the role's tag.
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=role_arn(ACCOUNT, "dbaccess-fatimazahra"), RoleSessionName="weep-session"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    identity = resolve_identity(session, email=None)
    assert identity.email == FATIMA
    assert identity.assumed is False


def test_other_credentials_and_email_assume_the_person_role_with_source_identity(
    published: AccessPlan,
) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName="fatima")
    key = iam.create_access_key(UserName="fatima")["AccessKey"]
    base = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )
    sent: list[dict[str, Any]] = []
    base.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: sent.append(dict(params))
    )

    identity = resolve_identity(base, email=FATIMA, email_source="--email")

    assert sent == [
        {
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/dbaccess/dbaccess-fatimazahra",
            "RoleSessionName": FATIMA,
            "SourceIdentity": FATIMA,
            "DurationSeconds": 900,
        }
    ]
    assert identity.assumed is True
    assert identity.caller.arn == f"arn:aws:iam::{ACCOUNT}:user/fatima"
    me = identity.session.client("sts").get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/dbaccess-fatimazahra/{FATIMA}"


def test_email_from_the_config_file(published: AccessPlan, home: Path) -> None:
    config = home / "config" / "dbaccess" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'email = "{FATIMA}"\ncatalog = "s3://{BUCKET}/prod/"\n')

    result = dbaccess("list", "--format", "json", "--verbose")

    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["email"] == FATIMA
    assert [(d["database"], d["access"]) for d in listed["databases"]] == [
        ("orders", "read-only"),
        ("payments-staging", "read-only"),
    ]
    assert f"assuming arn:aws:iam::{ACCOUNT}:role/dbaccess/dbaccess-fatimazahra" in result.stderr


def test_no_email_from_plain_credentials_says_how_to_give_it(published: AccessPlan) -> None:
    result = dbaccess("list", env={"DBACCESS_CATALOG": CATALOG_URL})
    assert result.exit_code == 2
    assert "dbaccess needs your email" in result.stderr
    assert "--email" in result.stderr
    assert "DBACCESS_EMAIL" in result.stderr


def test_no_aws_credentials_says_how_to_log_in(home: Path) -> None:
    result = dbaccess("token", "orders", "--email", FATIMA)
    assert result.exit_code == 1
    assert "error: checking who you are: no AWS credentials found." in result.stderr
    assert 'eval "$(weep export' in result.stderr
    assert "aws sso login --profile" in result.stderr
    assert result.stdout == ""


def test_expired_sso_session_says_log_in_again(home: Path) -> None:
    (home / "aws-config").write_text(
        "[profile dev]\n"
        "sso_start_url = https://example.awsapps.com/start\n"
        "sso_region = eu-west-1\n"
        f"sso_account_id = {ACCOUNT}\n"
        "sso_role_name = Engineer\n"
        "region = eu-west-1\n"
    )
    result = dbaccess("list", "--email", FATIMA, env={"AWS_PROFILE": "dev"})
    assert result.exit_code == 1
    assert "your AWS credentials have expired or are not valid" in result.stderr
    assert "SSO session has expired" in result.stderr
    assert "Log in again" in result.stderr
    assert "aws sso login" in result.stderr


class _ExpiredTokenSTS(http.server.BaseHTTPRequestHandler):
    """STS's real answer to a request signed with an expired session token."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (
            b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            b"<Type>Sender</Type><Code>ExpiredToken</Code>"
            b"<Message>The security token included in the request is expired</Message>"
            b"</Error><RequestId>1</RequestId></ErrorResponse>"
        )
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_expired_credentials_say_log_in_again(home: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ExpiredTokenSTS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = dbaccess(
            "list",
            "--email",
            FATIMA,
            env={
                "AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{server.server_address[1]}",
                "AWS_ACCESS_KEY_ID": "ASIAEXPIRED",
                "AWS_SECRET_ACCESS_KEY": "expired-secret",
                "AWS_SESSION_TOKEN": "expired-session-token",
            },
        )
    finally:
        server.shutdown()
    assert result.exit_code == 1
    assert "your AWS credentials have expired" in result.stderr
    assert "ExpiredToken: The security token included in the request is expired" in result.stderr
    assert "Log in again" in result.stderr
    assert "expired-secret" not in result.stderr + result.stdout
    assert "expired-session-token" not in result.stderr + result.stdout


def test_a_role_that_does_not_trust_you(published: AccessPlan) -> None:
    # An IAM user allowed to call sts:AssumeRole, but the person role trusts only ConsoleMe.
    iam = boto3.client("iam")
    iam.create_user(UserName="mallory")
    iam.put_user_policy(
        UserName="mallory",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    env = {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        "DBACCESS_CATALOG": CATALOG_URL,
    }
    with enable_iam_authentication():
        result = dbaccess("token", "orders", "--email", FATIMA, env=env)

    assert result.exit_code == 1
    role = f"arn:aws:iam::{ACCOUNT}:role/dbaccess/dbaccess-fatimazahra"
    assert (
        f"error: role {role} does not trust your credentials "
        f"(arn:aws:iam::{ACCOUNT}:user/mallory): AccessDenied"
    ) in result.stderr
    assert f'eval "$(weep export {role})"' in result.stderr
    assert result.stdout == ""


# --- the catalog ------------------------------------------------------------------------------


def test_catalog_location_next_to_catalog_json() -> None:
    key = f"people/{FATIMA}.json"
    assert person_object_location("s3://b/prod/catalog.json", FATIMA) == ("b", f"prod/{key}")
    assert person_object_location("s3://b/prod/", FATIMA) == ("b", f"prod/{key}")
    assert person_object_location("s3://b/prod", FATIMA) == ("b", f"prod/{key}")
    assert person_object_location("s3://b", FATIMA) == ("b", key)
    assert person_object_location("s3://b/catalog.json", FATIMA) == ("b", key)


def test_catalog_is_cached_with_its_etag(published: AccessPlan, home: Path) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    calls: list[tuple[str | None, int]] = []
    sent: dict[str, Any] = {}
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: sent.update(params)
    )
    s3.meta.events.register(
        "after-call.s3.GetObject",
        lambda http_response, **_: calls.append(
            (sent.get("IfNoneMatch"), http_response.status_code)
        ),
    )
    key = f"prod/people/{FATIMA}.json"
    directory = cache_dir()
    first = fetch_catalog(s3, BUCKET, key, directory)
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"]

    second = fetch_catalog(s3, BUCKET, key, directory)

    assert calls == [(None, 200), (etag, 304)]
    assert second == first
    assert [p.stat().st_mode & 0o777 for p in directory.glob("catalog-*.json")] == [0o600]

    # The program republishes: an expiring grant now shows its date.
    document = json.loads(person_json(published, FATIMA))
    document["grants"][0]["until"] = "2027-01-31"
    s3.put_object(Bucket=BUCKET, Key=key, Body=to_json(document))
    third = fetch_catalog(s3, BUCKET, key, directory)

    assert calls[2] == (etag, 200)
    person = third.person(FATIMA)
    assert person is not None
    assert person.grants[0].until == dt.date(2027, 1, 31)
    assert fetch_catalog(s3, BUCKET, key, directory) == third
    assert calls[3][1] == 304


def test_no_catalog_object_for_the_person(published: AccessPlan) -> None:
    result = dbaccess(
        "list", "--email", "nobody@example.com", env={"DBACCESS_CATALOG": CATALOG_URL}
    )
    assert result.exit_code == 2
    assert (
        f"cannot read your catalog object s3://{BUCKET}/prod/people/nobody@example.com.json"
        in result.stderr
    )
    assert "pull request to access.yaml" in result.stderr


# --- tokens -----------------------------------------------------------------------------------


def test_token_env_is_an_rds_token_for_the_login(published: AccessPlan) -> None:
    env = {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}

    result = dbaccess("token", "orders", "--verbose", env=env)

    assert result.exit_code == 0, result.stderr
    words = shlex.split(result.stdout)
    assert words[0] == "export"
    exported = dict(w.split("=", 1) for w in words[1:])
    assert list(exported) == [
        "PGHOST",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGSSLMODE",
        "PGSSLROOTCERT",
    ]
    host = "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com"
    assert exported["PGHOST"] == host
    assert exported["PGPORT"] == "5432"
    assert exported["PGDATABASE"] == "orders"
    assert exported["PGUSER"] == "fatimazahra_ro"
    assert exported["PGSSLMODE"] == "verify-full"
    assert exported["PGSSLROOTCERT"].endswith("config/dbaccess/rds-ca-bundle.pem")
    token = exported["PGPASSWORD"]
    url = urlsplit("https://" + token)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.netloc == f"{host}:5432"
    assert query["Action"] == "connect"
    assert query["DBUser"] == "fatimazahra_ro"
    assert query["X-Amz-Expires"] == "900"
    assert query["X-Amz-Credential"].startswith(env["AWS_ACCESS_KEY_ID"] + "/")
    assert query["X-Amz-Credential"].endswith(f"/{REGION}/rds-db/aws4_request")
    # The CA bundle is missing: said on stderr, never mixed into what eval runs.
    assert "curl -fsSL https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in (
        result.stderr
    )
    assert "valid until" in result.stderr
    # --verbose tells the steps, never a secret.
    for step in ("AWS caller: arn:aws:sts::", "catalog s3://", f"endpoint {host}:5432"):
        assert step in result.stderr
    for secret in (token, env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]):
        assert secret not in result.stderr


def test_token_other_formats(published: AccessPlan, home: Path) -> None:
    env = {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}
    ca = home / "ca.pem"
    ca.write_text("test CA\n")

    as_json = json.loads(
        dbaccess("token", "orders", "--format", "json", "--ca-bundle", str(ca), env=env).stdout
    )
    uri = dbaccess("token", "orders", "--format", "uri", "--ca-bundle", str(ca), env=env).stdout
    pgpass = dbaccess("token", "orders", "--format", "pgpass", env=env).stdout
    password_only = dbaccess("token", "orders", "--format", "password", env=env).stdout

    assert as_json["user"] == "fatimazahra_ro"
    assert as_json["sslmode"] == "verify-full"
    assert as_json["sslrootcert"] == str(ca)
    expires = dt.datetime.fromisoformat(as_json["expires_at"])
    assert dt.timedelta(minutes=14) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    parts = urlsplit(uri.strip())
    assert (parts.scheme, parts.username, parts.hostname, parts.port, parts.path) == (
        "postgresql",
        "fatimazahra_ro",
        "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com",
        5432,
        "/orders",
    )
    assert parts.query == f"sslmode=verify-full&sslrootcert={ca}"
    host, port, dbname, user, password = pgpass.strip().replace("\\:", "\x00").split(":")
    assert (host, port, dbname, user) == (
        "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com",
        "5432",
        "orders",
        "fatimazahra_ro",
    )
    assert password.replace("\x00", ":").startswith(
        "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect"
    )
    # One line, the password alone: what a GUI client's "password command" reads.
    assert password_only.count("\n") == 1
    assert password_only.startswith(
        "orders-prod.c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect"
    )


def test_token_in_another_account_assumes_the_role_there(published: AccessPlan) -> None:
    # payments-staging lives in the staging account; plain credentials + email.
    result = dbaccess(
        "token",
        "payments-staging",
        "--email",
        FATIMA,
        "--verbose",
        env={"DBACCESS_CATALOG": CATALOG_URL},
    )
    assert result.exit_code == 0, result.stderr
    staging_role = f"arn:aws:iam::{STAGING}:role/dbaccess/dbaccess-fatimazahra"
    assert f"the database is in account {STAGING}: assuming {staging_role}" in result.stderr
    assert "PGUSER=fatimazahra_ro" in result.stdout


def test_redshift_credentials(published: AccessPlan) -> None:
    create_analytics_cluster()
    env = {**person_role_env(PRIYA, "dbaccess-priyaraman"), "DBACCESS_CATALOG": CATALOG_URL}

    result = dbaccess("token", "analytics", "--format", "json", "--verbose", env=env)

    assert result.exit_code == 0, result.stderr
    cred = json.loads(result.stdout)
    assert cred["engine"] == "redshift"
    assert cred["host"] == "analytics-dwh.cu8fzqd1xk2a.eu-west-1.redshift.amazonaws.com"
    assert cred["port"] == 5439
    assert cred["database"] == "analytics"
    # Redshift's answer names the user "IAM:<login>" (moto: "IAMA:" when auto-created).
    assert cred["user"].split(":", 1) in (["IAM", "priyaraman_ro"], ["IAMA", "priyaraman_ro"])
    assert len(cred["password"]) >= 16
    expires = dt.datetime.fromisoformat(cred["expires_at"])
    assert dt.timedelta(minutes=14) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    assert "Redshift GetClusterCredentials in eu-west-1" in result.stderr
    assert cred["password"] not in result.stderr


def test_redshift_cluster_missing_is_an_aws_failure(published: AccessPlan) -> None:
    env = {**person_role_env(PRIYA, "dbaccess-priyaraman"), "DBACCESS_CATALOG": CATALOG_URL}
    result = dbaccess("token", "analytics", env=env)
    assert result.exit_code == 1
    assert "error: getting Redshift credentials for analytics: ClusterNotFound" in result.stderr


# --- errors people hit ------------------------------------------------------------------------


@pytest.fixture
def fatima_offline(published: AccessPlan, home: Path) -> dict[str, str]:
    """Fatima in her role, with the full catalog.json as an offline file."""
    (home / "catalog.json").write_text(catalog_json(published))
    return person_role_env(FATIMA, "dbaccess-fatimazahra")


def test_unknown_database_suggests_and_lists_yours(
    fatima_offline: dict[str, str], home: Path
) -> None:
    result = dbaccess("token", "ordrs", "--catalog", str(home / "catalog.json"), env=fatima_offline)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: unknown database 'ordrs'; did you mean 'orders'?",
        "Your databases: orders (read-only), payments-staging (read-only).",
        "To ask for access, open a pull request adding the grant to access.yaml; "
        "the database's owners review it.",
    ]


def test_a_huge_database_name_is_quoted_cut(fatima_offline: dict[str, str], home: Path) -> None:
    name = "x" * 100_000
    result = dbaccess("token", name, "--catalog", str(home / "catalog.json"), env=fatima_offline)
    assert result.exit_code == 2
    (first, *_) = result.stderr.splitlines()
    assert first == f"error: unknown database '{'x' * 79}…'"


def test_a_catalog_file_that_never_ends_is_refused(home: Path) -> None:
    result = dbaccess("list", "--catalog", "/dev/zero", "--email", FATIMA)
    assert result.exit_code == 2
    assert "cannot read the catalog file: /dev/zero is larger than" in result.stderr


def test_not_granted_says_what_you_have_and_whom_to_ask(
    fatima_offline: dict[str, str], home: Path
) -> None:
    result = dbaccess(
        "token", "inventory", "--catalog", str(home / "catalog.json"), env=fatima_offline
    )
    assert result.exit_code == 2
    assert "error: you have no access to 'inventory'" in result.stderr
    assert "Your databases: orders (read-only), payments-staging (read-only)." in result.stderr
    assert "open a pull request adding the grant to access.yaml" in result.stderr


def test_read_write_where_only_read_only_is_granted(
    fatima_offline: dict[str, str], home: Path
) -> None:
    result = dbaccess(
        "token", "orders", "--rw", "--catalog", str(home / "catalog.json"), env=fatima_offline
    )
    assert result.exit_code == 2
    assert "error: you have read-only access to 'orders', not read-write" in result.stderr
    assert "Run without --rw" in result.stderr


def test_expired_grant_says_when_and_how_to_renew(aws: None, home: Path) -> None:
    # A catalog from before tomas's inventory grant ran out on 2026-10-31 (e.g. a stale cache).
    old = load_plan(on=dt.date(2026, 10, 1))
    (home / "old.json").write_text(person_json(old, "tomas.novak@example.com"))
    env = person_role_env("tomas.novak@example.com", "dbaccess-tomasnovak")

    result = dbaccess("token", "inventory", "--catalog", str(home / "old.json"), env=env)

    assert result.exit_code == 2
    assert "error: your read-only access to 'inventory' expired on 2026-10-31" in result.stderr
    assert "moving `until:` of your grant in access.yaml" in result.stderr
    listed = dbaccess("list", "--catalog", str(home / "old.json"), env=env)
    assert "EXPIRED 2026-10-31" in listed.stdout


def test_list_offline_with_email_needs_no_aws(home: Path) -> None:
    (home / "catalog.json").write_text(catalog_json(load_plan()))
    result = dbaccess("list", "--catalog", str(home / "catalog.json"), "--email", FATIMA)
    assert result.exit_code == 0, result.stderr
    assert "orders" in result.stdout


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["token", "ordrs"], "error: unknown database 'ordrs'; did you mean 'orders'?"),
        (["token", "inventory"], "error: you have no access to 'inventory'"),
        (["token", "orders", "--rw"], "error: you have read-only access to 'orders'"),
        (["connect", "inventory"], "error: you have no access to 'inventory'"),
    ],
)
def test_offline_typos_and_missing_grants_need_no_aws(
    home: Path, argv: list[str], says: str
) -> None:
    # GIVEN no AWS credentials at all (not even moto's), the catalog as a file, psql and a CA
    (home / "catalog.json").write_text(catalog_json(load_plan()))
    (home / "ca.pem").write_text("test CA\n")
    (home / "bin").mkdir()
    (home / "bin" / "psql").write_text("#!/bin/sh\nexit 0\n")
    (home / "bin" / "psql").chmod(0o755)
    offline = ["--catalog", str(home / "catalog.json"), "--email", FATIMA]
    if argv[0] == "connect":
        offline += ["--ca-bundle", str(home / "ca.pem")]
    # WHEN the engineer mistypes or asks for what they do not have
    result = dbaccess(*argv, *offline, env={"PATH": str(home / "bin")})
    # THEN the catalog answers, without asking them to log in to AWS
    assert result.exit_code == 2
    assert says in result.stderr
    assert "AWS" not in result.stderr


def test_connect_without_the_ca_bundle_says_how_to_get_it(
    fatima_offline: dict[str, str], home: Path
) -> None:
    result = dbaccess(
        "connect", "orders", "--catalog", str(home / "catalog.json"), env=fatima_offline
    )
    assert result.exit_code == 1
    assert "rds-ca-bundle.pem does not exist (needed for sslmode=verify-full)" in result.stderr
    assert "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in result.stderr


def test_connect_without_psql_says_how_to_install_it(
    fatima_offline: dict[str, str], home: Path
) -> None:
    ca = home / "ca.pem"
    ca.write_text("test CA\n")
    (home / "empty-bin").mkdir()
    result = dbaccess(
        "connect",
        "orders",
        "--catalog",
        str(home / "catalog.json"),
        "--ca-bundle",
        str(ca),
        env={**fatima_offline, "PATH": str(home / "empty-bin")},
    )
    assert result.exit_code == 1
    assert "error: psql is not installed" in result.stderr
    assert "sudo apt-get install postgresql-client" in result.stderr
    assert "brew install libpq" in result.stderr


def test_bad_config_file_is_a_usage_error(home: Path) -> None:
    config = home / "config" / "dbaccess" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('emial = "x@example.com"\n')
    result = dbaccess("list")
    assert result.exit_code == 2
    assert "unknown key 'emial'" in result.stderr


# --- dbaccess.credentials ---------------------------------------------------------------------


def test_credential_repr_hides_the_password() -> None:
    cred = Credential(
        engine="postgres",
        host="h",
        port=5432,
        database="d",
        user="u_ro",
        password="s3cret-token",
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    assert "s3cret-token" not in repr(cred)
    assert "s3cret-token" not in str(cred)
    assert "password='***'" in repr(cred)


def test_session_names_are_valid_and_deterministic() -> None:
    long_email = "a.very.long.local.part.that.goes.on+and+on@subdomain.example-company.co.uk"
    for email in (FATIMA, long_email, "o'brien@example.com", "X@Y.Z"):
        name = session_name_for(email)
        assert 2 <= len(name) <= 64
        assert all(c.isascii() and (c.isalnum() or c in "_+=,.@-") for c in name)
        assert session_name_for(email) == name
    assert session_name_for(long_email) != session_name_for(long_email.replace("a.very", "b.very"))
    assert session_name_for(FATIMA) == FATIMA


def test_issue_credential_directly_for_the_issuer(published: AccessPlan) -> None:
    catalog = Catalog.from_json(person_json(published, FATIMA))
    person = catalog.person(FATIMA)
    assert person is not None
    grant = person.grant("orders", "read-only")
    assert grant is not None
    now = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)

    keys = boto3.Session(region_name=REGION).get_credentials()
    assert keys is not None
    cred = issue_credential(keys, catalog.databases["orders"], grant, now=now)

    assert cred.user == "fatimazahra_ro"
    assert cred.expires_at == dt.datetime(2030, 1, 1, 12, 15, tzinfo=dt.UTC)
    assert "DBUser=fatimazahra_ro" in cred.password


def test_rds_token_is_the_one_botocore_signs(published: AccessPlan) -> None:
    """The token is signed without an RDS client; it must be exactly what
    `generate_db_auth_token` makes with the same credentials in the same second."""
    catalog = Catalog.from_json(person_json(published, FATIMA))
    db = catalog.databases["orders"]
    person = catalog.person(FATIMA)
    assert person is not None
    grant = person.grant("orders", "read-only")
    assert grant is not None
    session = boto3.Session(
        aws_access_key_id="ASIAEXAMPLEPERSON",
        aws_secret_access_key="person-secret",
        aws_session_token="person-session-token",
        region_name=REGION,
    )
    keys = session.get_credentials()
    assert keys is not None
    rds = session.client("rds", region_name=db.region)

    for _ in range(3):  # both signatures carry the second they were made in
        ours = issue_credential(keys, db, grant).password
        theirs = rds.generate_db_auth_token(
            DBHostname=db.host, Port=db.port, DBUsername=grant.login, Region=db.region
        )
        if (
            parse_qs(urlsplit(f"//{ours}").query)["X-Amz-Date"]
            == parse_qs(urlsplit(f"//{theirs}").query)["X-Amz-Date"]
        ):
            break
    assert ours == theirs
    assert ours.startswith(f"{db.host}:{db.port}/?Action=connect&DBUser={grant.login}&")


# --- the first hour: no trap on the way in ----------------------------------------------------


def test_connect_answers_a_typo_before_the_missing_ca_bundle(home: Path) -> None:
    # GIVEN a fresh machine: no CA bundle downloaded yet, no AWS
    (home / "catalog.json").write_text(catalog_json(load_plan()))
    # WHEN the engineer mistypes the database
    result = dbaccess(
        "connect", "ordrs", "--catalog", str(home / "catalog.json"), "--email", FATIMA
    )
    # THEN the name is answered first, not the CA bundle
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[0] == "error: unknown database 'ordrs'; did you mean 'orders'?"
    )
    assert "CA bundle" not in result.stderr


def test_redshift_token_points_at_the_amazon_trust_bundle(published: AccessPlan) -> None:
    create_analytics_cluster()
    env = {**person_role_env(PRIYA, "dbaccess-priyaraman"), "DBACCESS_CATALOG": CATALOG_URL}

    result = dbaccess("token", "analytics", env=env)

    assert result.exit_code == 0, result.stderr
    exported = dict(w.split("=", 1) for w in shlex.split(result.stdout)[1:])
    assert exported["PGSSLROOTCERT"].endswith("/dbaccess/redshift-ca-bundle.crt")
    # The warning about the missing file says which bundle, and where to get it.
    assert "Download the Amazon Trust Services bundle (redshift)" in result.stderr
    assert "https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt" in result.stderr
    assert "global-bundle.pem" not in result.stderr


def test_redshift_ca_bundle_from_its_own_config_key(published: AccessPlan, home: Path) -> None:
    config = home / "config" / "dbaccess" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'ca_bundle = "{home}/rds.pem"\nredshift_ca_bundle = "{home}/trust.crt"\n')
    (home / "catalog.json").write_text(catalog_json(published))
    env = person_role_env(FATIMA, "dbaccess-fatimazahra")
    result = dbaccess("token", "orders", "--catalog", str(home / "catalog.json"), env=env)
    assert f"PGSSLROOTCERT={home}/rds.pem" in result.stdout


def test_list_with_a_catalog_file_and_no_aws_suggests_email(home: Path) -> None:
    (home / "catalog.json").write_text(catalog_json(load_plan()))
    result = dbaccess("list", "--catalog", str(home / "catalog.json"))
    assert result.exit_code == 1
    assert "no AWS credentials found" in result.stderr
    assert "pass --email you@example.com" in result.stderr


def test_the_example_catalog_ships_with_the_package(home: Path) -> None:
    # No checkout: `example` names the catalog inside the installed package.
    result = dbaccess("list", "--catalog", "example", "--email", FATIMA)
    assert result.exit_code == 0, result.stderr
    assert any(line.split()[:2] == ["orders", "read-only"] for line in result.stdout.splitlines())


def complete(words: str) -> list[str]:
    """What bash completion offers after `words` (the last one being completed)."""
    result = CliRunner().invoke(
        app,
        [],
        env={
            "_DBACCESS_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        },
        prog_name="dbaccess",
    )
    assert result.exit_code == 0, result.output
    return result.stdout.split()


def test_database_names_complete_from_the_cached_catalog(published: AccessPlan) -> None:
    env = {**person_role_env(FATIMA, "dbaccess-fatimazahra"), "DBACCESS_CATALOG": CATALOG_URL}
    assert complete("dbaccess connect ") == []  # nothing cached yet, and no network asked
    assert dbaccess("list", env=env).exit_code == 0  # caches Fatima's catalog object
    assert complete("dbaccess connect ") == ["orders", "payments-staging"]
    assert complete("dbaccess token pay") == ["payments-staging"]
    example = "dbaccess token --catalog example --email"
    assert complete(f"{example} {PRIYA} an") == ["analytics"]
    assert complete(f"{example} {FATIMA} an") == []
    assert complete("dbaccess doctor ord") == ["orders"]


def test_a_valid_credential_is_reused_not_made_again(published: AccessPlan, home: Path) -> None:
    create_analytics_cluster()
    env = {**person_role_env(PRIYA, "dbaccess-priyaraman"), "DBACCESS_CATALOG": CATALOG_URL}

    first = json.loads(dbaccess("token", "analytics", "--format", "json", env=env).stdout)
    again = dbaccess("token", "analytics", "--format", "json", "--verbose", env=env)

    # Redshift makes a new password on each call; the second is the first, kept.
    assert json.loads(again.stdout)["password"] == first["password"]
    assert "reusing the credential for" in again.stderr
    assert first["password"] not in again.stderr
    (kept,) = (home / "cache" / "dbaccess" / "credentials").iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (kept.parent.stat().st_mode & 0o777) == 0o700
    assert first["password"] not in dbaccess("list", "-v", env=env).stderr

    # After a new AWS login (new keys), a password made with the old ones is not reused.
    relogged = {**person_role_env(PRIYA, "dbaccess-priyaraman"), "DBACCESS_CATALOG": CATALOG_URL}
    fresh = json.loads(dbaccess("token", "analytics", "--format", "json", env=relogged).stdout)
    assert fresh["password"] != first["password"]
