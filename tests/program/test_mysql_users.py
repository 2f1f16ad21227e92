"""MysqlUsers alone under Pulumi's mocks: GIVEN one Aurora MySQL cluster holding two databases."""

from __future__ import annotations

from pathlib import Path

from components.mysql_users import MysqlUsers, MysqlUsersArgs
from dbaccess.cli.preview_engine import Registration, run_under_mocks
from dbaccess.mysql.spec import MysqlLogin, MysqlServerSpec
from tests.program.conftest import load_pickled_provider, stack_config

ROOT = Path(__file__).resolve().parents[2]
SERVER = MysqlServerSpec(
    host="shop.cluster-abc.eu-west-1.rds.amazonaws.com",
    port=3306,
    region="eu-west-1",
    admin_login="dbaccess_admin",
    databases=("orders", "stock"),
    logins=(
        MysqlLogin("ana_ro", "read-only", ("orders", "stock")),
        MysqlLogin("bo_rw", "read-write", ("stock",)),
    ),
)
DEPLOY_ROLE = "arn:aws:iam::123456789012:role/dbaccess-deploy"
CA = "/etc/ssl/rds/global-bundle.pem"


def register() -> list[Registration]:
    run = run_under_mocks(
        lambda: MysqlUsers("my", MysqlUsersArgs(SERVER, DEPLOY_ROLE, CA)), stack_config()
    )
    return [r for r in run.registrations if r.type != "pulumi:pulumi:Stack"]


def test_one_dynamic_login_per_person_and_level_under_the_component() -> None:
    resources = register()
    component = next(r for r in resources if r.type == "dbaccess:mysql:MysqlUsers")
    logins = {r.name: r for r in resources if r is not component}
    assert set(logins) == {"my-ana_ro", "my-bo_rw"}
    assert all(r.parent == component.urn for r in logins.values())
    ana = {k: v for k, v in logins["my-ana_ro"].inputs.items() if k != "__provider"}
    assert ana == {
        "login": "ana_ro",
        "mark": "dbaccess_managed",
        "access": "read-only",
        "databases": ["orders", "stock"],
        "host": SERVER.host,
        "port": 3306,
        "region": "eu-west-1",
        "admin_login": "dbaccess_admin",
        "deploy_role_arn": DEPLOY_ROLE,
        "ca_bundle": CA,
    }


def test_the_state_holds_the_provider_by_reference_and_no_secret(tmp_path: Path) -> None:
    """The pickled provider must load where `pulumi up` later runs it - a fresh Python in the
    project directory - and must be the production one (IAM auth, token minted per call)."""
    printed, raw = load_pickled_provider(
        register()[-1].inputs["__provider"],
        tmp_path,
        "type(p).__module__, type(p).__name__, p._connect.__module__, p._connect.__name__",
        "p._auth",
    )
    assert printed == [
        "components.mysql_users MysqlLoginProvider dbaccess.mysql.connect admin_connection",
        "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
    ]
    assert len(raw) < 2000  # a reference, not the code of the modules it uses
    for secret_word in (b"password", b"token", b"Secret"):
        assert secret_word not in raw
