"""SlackBot under Pulumi's mocks: GIVEN a cluster lookup, THEN the IRSA trust, the bot's
permissions (its secrets by ARN, nothing else), the pod's hardening and an environment that
names the secrets without holding them are exactly as intended."""

from __future__ import annotations

import json
from typing import Any

import parliament
import pulumi
import pytest

from components.refs import CatalogRef, RequestTableRef
from components.slack_bot import (
    GitHubAppArgs,
    SlackApprovalArgs,
    SlackBot,
    SlackBotArgs,
    github_env_vars,
)
from dbaccess.access.source import SourceMap
from dbaccess.bot.access_requests import github_settings
from dbaccess.cli.preview_engine import OfflineMocks, Registration, run_under_mocks
from dbaccess.iam import documents
from dbaccess.stack.file import StackConfig

ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/5C1A2B3C4D5E6F708192A3B4C5D6E7F8"
OIDC_HOST = ISSUER.removeprefix("https://")
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{OIDC_HOST}"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/issuer-requests-1a2b3c4"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
SECRETS = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbaccess/"
BOT_TOKEN_ARN, APP_TOKEN_ARN = (
    f"{SECRETS}slack-bot-token-Xy12Ab",
    f"{SECRETS}slack-app-token-Pq34Cd",
)
GITHUB_KEY_ARN = f"{SECRETS}github-app-private-key-Mn56Ef"
SECRETS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e"


class ClusterMocks(OfflineMocks):
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "aws:eks/getCluster:getCluster":
            return {
                "name": args.args["name"],
                "endpoint": "https://5C1A2B3C.gr7.eu-west-1.eks.amazonaws.com",
                "certificateAuthorities": [{"data": "LS0tLS1CRUdJTi1DRVJU"}],
                "identities": [{"oidcs": [{"issuer": ISSUER}]}],
            }
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            assert args.args["url"] == ISSUER
            return {"arn": OIDC_ARN, "url": OIDC_HOST}
        return super().call(args)


def deploy_bot(
    secrets_key_arn: str | None = None,
    *,
    allow_guests: bool = False,
    slack_approval: SlackApprovalArgs | None = None,
) -> dict[str, Registration]:
    def program() -> None:
        SlackBot(
            "slack-bot",
            SlackBotArgs(
                cluster_name="platform-prod",
                namespace="dbaccess",
                image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbaccess-bot:0.1.0",
                replicas=2,
                help_channel="#db-access",
                requests=RequestTableRef("issuer-requests-1a2b3c4", TABLE_ARN, KEY_ARN),
                catalog=CatalogRef(
                    "catalog-bucket-7d158f9", "arn:aws:s3:::catalog-bucket-7d158f9", "catalog.json"
                ),
                slack_bot_token_secret_arn=BOT_TOKEN_ARN,
                slack_app_token_secret_arn=APP_TOKEN_ARN,
                secrets_key_arn=secrets_key_arn,
                permissions_boundary=documents.boundary_arn("123456789012"),
                region="eu-west-1",
                github=GitHubAppArgs(
                    app_id=123456,
                    installation_id=7890123,
                    repository="example-org/access",
                    access_file="access.yaml",
                    private_key_secret_arn=GITHUB_KEY_ARN,
                ),
                allow_guests=allow_guests,
                slack_approval=slack_approval,
            ),
        )

    config = StackConfig(
        "dbaccess", "test", {"aws:region": "eu-west-1"}, [], SourceMap("Pulumi.test.yaml")
    )
    run = run_under_mocks(program, config, ClusterMocks())
    return {r.name: r for r in run.registrations}


@pytest.fixture(scope="module")
def bot() -> dict[str, Registration]:
    return deploy_bot()


def test_irsa_trust_is_exactly_the_service_account_of_this_cluster(
    bot: dict[str, Registration],
) -> None:
    trust = json.loads(bot["slack-bot-role"].inputs["assumeRolePolicy"])
    assert trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": OIDC_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_HOST}:sub": "system:serviceaccount:dbaccess:dbaccess-bot",
                        f"{OIDC_HOST}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }
    account = bot["slack-bot-service-account"].inputs
    assert account["metadata"]["name"] == "dbaccess-bot"
    assert account["metadata"]["namespace"] == "dbaccess"
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]


def test_the_bot_may_only_read_its_secrets_record_requests_and_read_the_catalog(
    bot: dict[str, Registration],
) -> None:
    policy = json.loads(bot["slack-bot-policy"].inputs["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "ServiceSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            # Exactly the three secrets the stack names: no other secret of the account.
            "Resource": sorted([BOT_TOKEN_ARN, APP_TOKEN_ARN, GITHUB_KEY_ARN]),
        },
        {
            "Sid": "RecordRequests",
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": TABLE_ARN,
        },
        {
            "Sid": "RequestTableKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KEY_ARN,
        },
        {
            "Sid": "CountRecentRequests",
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": f"{TABLE_ARN}/index/by-email",
        },
        {
            "Sid": "AccessRequestLedger",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "Resource": TABLE_ARN,
            # Only the access-request items: the pattern narrows the named table's keys.
            "Condition": {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["access-request#*"]}
            },
        },
        {
            "Sid": "CatalogRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::catalog-bucket-7d158f9/catalog.json",
        },
    ]
    assert "*" not in json.dumps([s["Resource"] for s in policy["Statement"]])


def test_the_pod_runs_hardened_with_probes_and_two_replicas(bot: dict[str, Registration]) -> None:
    spec = bot["slack-bot-deployment"].inputs["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 2
    assert pod["serviceAccountName"] == "dbaccess-bot"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"][0]["emptyDir"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DBACCESS_CATALOG_URL"]["value"] == "s3://catalog-bucket-7d158f9/catalog.json"
    assert env["DBACCESS_HELP_CHANNEL"]["value"] == "#db-access"
    assert env["DBACCESS_SLACK_TOKEN_SECRET_ARN"]["value"] == BOT_TOKEN_ARN
    assert env["DBACCESS_SLACK_APP_TOKEN_SECRET_ARN"]["value"] == APP_TOKEN_ARN
    pdb = bot["slack-bot-pdb"].inputs["spec"]
    assert pdb["minAvailable"] == 1
    assert pdb["selector"] == spec["selector"]


def test_no_secret_value_or_kubernetes_secret_only_arns_in_the_environment(
    bot: dict[str, Registration],
) -> None:
    # The values never pass through Pulumi: no Kubernetes Secret, no valueFrom, no token.
    assert not [r for r in bot.values() if r.type == "kubernetes:core/v1:Secret"]
    (container,) = bot["slack-bot-deployment"].inputs["spec"]["template"]["spec"]["containers"]
    assert all(set(e) == {"name", "value"} for e in container["env"])
    env = {e["name"]: e["value"] for e in container["env"]}
    assert {name for name in env if "TOKEN" in name or "KEY" in name} == {
        "DBACCESS_SLACK_TOKEN_SECRET_ARN",
        "DBACCESS_SLACK_APP_TOKEN_SECRET_ARN",
        "DBACCESS_GITHUB_APP_PRIVATE_KEY_SECRET_ARN",
    }
    everything = json.dumps({n: r.inputs for n, r in bot.items()}, default=str)
    assert "xoxb-" not in everything
    assert "xapp-" not in everything
    assert "PRIVATE KEY" not in everything


def test_the_github_app_settings_and_its_key_by_arn(bot: dict[str, Registration]) -> None:
    (container,) = bot["slack-bot-deployment"].inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DBACCESS_GITHUB_APP_ID"]["value"] == "123456"
    assert env["DBACCESS_GITHUB_INSTALLATION_ID"]["value"] == "7890123"
    assert env["DBACCESS_GITHUB_REPOSITORY"]["value"] == "example-org/access"
    assert env["DBACCESS_GITHUB_ACCESS_FILE"]["value"] == "access.yaml"
    assert env["DBACCESS_GITHUB_APP_PRIVATE_KEY_SECRET_ARN"]["value"] == GITHUB_KEY_ARN


def test_a_customer_managed_key_of_the_secrets_is_usable_through_secrets_manager_only() -> None:
    bot = deploy_bot(secrets_key_arn=SECRETS_KEY)
    policy = json.loads(bot["slack-bot-policy"].inputs["policy"])
    (key,) = [s for s in policy["Statement"] if s["Sid"] == "ServiceSecretsKey"]
    assert key == {
        "Sid": "ServiceSecretsKey",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": SECRETS_KEY,
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
    }


def test_kubernetes_is_reached_with_an_exec_credential(bot: dict[str, Registration]) -> None:
    kubeconfig = json.loads(bot["slack-bot-k8s"].inputs["kubeconfig"])
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"] == "https://5C1A2B3C.gr7.eu-west-1.eks.amazonaws.com"
    assert cluster["cluster"]["certificate-authority-data"] == "LS0tLS1CRUdJTi1DRVJU"
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"][:4] == [
        "eks",
        "get-token",
        "--cluster-name",
        "platform-prod",
    ]


def bot_env(bot: dict[str, Registration]) -> dict[str, Any]:
    (container,) = bot["slack-bot-deployment"].inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container["env"]}


def test_slack_guests_are_let_in_only_when_the_stack_says_so(bot: dict[str, Registration]) -> None:
    assert "DBACCESS_ALLOW_GUESTS" not in bot_env(bot)  # the bot's default: refused
    assert bot_env(deploy_bot(allow_guests=True))["DBACCESS_ALLOW_GUESTS"]["value"] == "true"


@pytest.mark.parametrize(
    ("auto_merge", "method", "value"),
    [(False, None, None), (True, None, "repository"), (True, "squash", "squash")],
)
def test_auto_merge_reaches_the_bot_as_one_variable_only_when_on(
    auto_merge: bool, method: str | None, value: str | None
) -> None:
    args = GitHubAppArgs(1, 2, "o/r", "access.yaml", GITHUB_KEY_ARN, auto_merge, method)
    env = {str(v["name"]): v["value"] for v in github_env_vars(args)}
    assert env.get(github_settings.AUTO_MERGE) == value


CLIENT_SECRET_ARN = f"{SECRETS}github-app-client-secret-Gh78Ij"


def test_approve_in_slack_adds_the_link_items_and_the_key_under_its_encryption_context() -> None:
    bot = deploy_bot(
        slack_approval=SlackApprovalArgs(
            client_id="Iv23liFakeClientId",
            client_secret_secret_arn=CLIENT_SECRET_ARN,
            access_levels=("read-only",),
            owners_channels=(("orders", "#orders-dba"),),
        )
    )

    policy = json.loads(bot["slack-bot-policy"].inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert CLIENT_SECRET_ARN in by_sid["ServiceSecrets"]["Resource"]
    assert by_sid["GitHubLinks"] == {
        "Sid": "GitHubLinks",
        "Effect": "Allow",
        "Action": [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        "Resource": TABLE_ARN,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["github-link#*"]}},
    }
    # Encrypt only on the stack's key, and only for this purpose.
    assert by_sid["GitHubTokenKey"] == {
        "Sid": "GitHubTokenKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:Encrypt"],
        "Resource": KEY_ARN,
        "Condition": {
            "StringEquals": {"kms:EncryptionContext:dbaccess:purpose": "github-user-token"}
        },
    }
    assert [f.issue for f in parliament.analyze_policy_string(json.dumps(policy)).findings] == []
    (container,) = bot["slack-bot-deployment"].inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["DBACCESS_GITHUB_CLIENT_ID"] == "Iv23liFakeClientId"
    assert env["DBACCESS_GITHUB_CLIENT_SECRET_SECRET_ARN"] == CLIENT_SECRET_ARN
    assert env["DBACCESS_TOKEN_KEY_ARN"] == KEY_ARN
    assert env["DBACCESS_SLACK_APPROVAL_ACCESS"] == "read-only"
    assert env["DBACCESS_OWNERS_CHANNELS"] == "orders=#orders-dba"
    assert "DBACCESS_SLACK_APPROVAL_DATABASES" not in env  # every database


def test_without_approve_in_slack_the_bot_has_no_encrypt(bot: dict[str, Registration]) -> None:
    policy = json.dumps(json.loads(bot["slack-bot-policy"].inputs["policy"]))
    assert "kms:Encrypt" not in policy
    assert "github-link#" not in policy
