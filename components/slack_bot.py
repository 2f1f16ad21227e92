"""SlackBot: the Socket Mode bot on an existing EKS cluster, with an IRSA role of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.refs import CatalogRef, RequestTableRef
from dbaccess import service_env
from dbaccess.bot import settings as bot_env
from dbaccess.bot.access_requests import github_settings as github_env
from dbaccess.bot.auto_merge import REPOSITORY_METHOD
from dbaccess.bot.slack_approval import settings as approval_env
from dbaccess.iam import documents, services
from dbaccess.stack import kube

# Socket Mode needs no inbound traffic; these are for the kubelet's probes only.
RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


@dataclass(frozen=True)
class GitHubAppArgs:
    """The GitHub App the bot opens access requests as; its key stays in Secrets Manager."""

    app_id: int
    installation_id: int
    repository: str
    access_file: str
    private_key_secret_arn: str
    auto_merge: bool = False
    merge_method: str | None = None  # None: the repository's


@dataclass(frozen=True)
class SlackApprovalArgs:
    """Approve in Slack: the GitHub App's OAuth client (its secret by ARN) and which requests
    Slack may decide (dbaccess.bot.slack_approval.settings reads the variables)."""

    client_id: str
    client_secret_secret_arn: str
    access_levels: tuple[str, ...]
    databases: tuple[str, ...] | None = None
    owners_channels: tuple[tuple[str, str], ...] = ()  # (database, channel)
    web_url: str | None = None


@dataclass(frozen=True)
class SlackBotArgs:
    cluster_name: str
    namespace: str
    image: str
    replicas: int
    help_channel: str
    requests: RequestTableRef
    catalog: CatalogRef
    # Secrets Manager ARNs: the bot reads the values at start through its IRSA role, so no
    # secret value is in the state, the Deployment or a Kubernetes Secret.
    slack_bot_token_secret_arn: str
    slack_app_token_secret_arn: str
    permissions_boundary: pulumi.Input[str]  # the boundary's ARN in the bot's account
    secrets_key_arn: str | None = None  # a customer managed KMS key of those secrets
    slack_api_url: str | None = None
    region: str | None = None
    github: GitHubAppArgs | None = None  # None: no "Request access"
    allow_guests: bool = False
    slack_approval: SlackApprovalArgs | None = None  # None: approve on GitHub only


class SlackBot(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: SlackBotArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dbaccess:bot:SlackBot", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.eks.get_cluster_output(
            name=args.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        issuer_url = cluster.identities[0].oidcs[0].issuer
        # Fails the preview if the cluster's OIDC provider is not registered in IAM (IRSA's
        # prerequisite), instead of a role nobody can assume.
        oidc_provider = aws.iam.get_open_id_connect_provider_output(
            url=issuer_url, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="The db-access Slack bot (IRSA): records credential requests",
            path=documents.SERVICE_ROLE_PATH,
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=pulumi.Output.all(oidc_provider.arn, issuer_url).apply(
                lambda v: json.dumps(
                    services.irsa_trust_policy(v[0], v[1], args.namespace, kube.BOT_SERVICE_ACCOUNT)
                )
            ),
            max_session_duration=3600,
            tags={"managed-by": "db-access"},
            opts=child,
        )
        secret_arns = [args.slack_bot_token_secret_arn, args.slack_app_token_secret_arn]
        if args.github:
            secret_arns.append(args.github.private_key_secret_arn)
        if args.slack_approval:
            secret_arns.append(args.slack_approval.client_secret_secret_arn)
        aws.iam.RolePolicy(
            f"{name}-policy",
            name="slack-bot",
            role=role.id,
            policy=pulumi.Output.all(
                args.requests.arn, args.requests.key_arn, args.catalog.bucket
            ).apply(
                lambda v: json.dumps(
                    services.slack_bot_policy(
                        v[0],
                        v[1],
                        documents.s3_object_arn(v[2], args.catalog.key),
                        secret_arns,
                        args.secrets_key_arn,
                        github_links=args.slack_approval is not None,
                    )
                )
            ),
            opts=child,
        )

        kubeconfig = pulumi.Output.all(
            cluster.endpoint, cluster.certificate_authorities[0].data
        ).apply(
            lambda v: json.dumps(kube.eks_kubeconfig(args.cluster_name, v[0], v[1], args.region))
        )
        provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider)
        labels = {
            "app.kubernetes.io/name": kube.BOT_APP_LABEL,
            "app.kubernetes.io/part-of": "db-access",
        }

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
            opts=in_cluster,
        )
        ns = namespace.metadata.name
        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={
                "name": kube.BOT_SERVICE_ACCOUNT,
                "namespace": ns,
                "labels": labels,
                "annotations": {"eks.amazonaws.com/role-arn": role.arn},
            },
            # Pods get the IRSA web identity token from EKS's webhook, not this API token.
            automount_service_account_token=False,
            opts=in_cluster,
        )
        env: list[dict[str, object]] = [
            {"name": service_env.REQUEST_TABLE, "value": args.requests.name},
            {"name": service_env.CATALOG_URL, "value": args.catalog.url},
            {"name": bot_env.HELP_CHANNEL, "value": args.help_channel},
            {"name": bot_env.HEALTH_PORT, "value": str(bot_env.DEFAULT_HEALTH_PORT)},
            {"name": bot_env.BOT_TOKEN_SECRET_ARN, "value": args.slack_bot_token_secret_arn},
            {"name": bot_env.APP_TOKEN_SECRET_ARN, "value": args.slack_app_token_secret_arn},
        ]
        if args.slack_api_url:
            env.append({"name": service_env.SLACK_API_URL, "value": args.slack_api_url})
        if args.allow_guests:
            env.append({"name": bot_env.ALLOW_GUESTS, "value": "true"})
        if args.region:
            env.append({"name": "AWS_REGION", "value": args.region})
        if args.github:
            env += github_env_vars(args.github)
        if args.slack_approval:
            env += slack_approval_env_vars(args.slack_approval, args.requests.key_arn)

        def probe(path: str, failures: int) -> dict[str, object]:
            return {
                "httpGet": {"path": path, "port": "health"},
                "periodSeconds": 10,
                "timeoutSeconds": 2,
                "failureThreshold": failures,
            }

        # Plain dicts in the Kubernetes API's own shape (typed loosely: the SDK's TypedDicts).
        metadata: Any = {"namespace": ns, "labels": labels}
        deployment_spec: Any = {
            "replicas": args.replicas,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": kube.BOT_SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": kube.BOT_USER_ID,
                        "fsGroup": kube.BOT_USER_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "bot",
                            "image": args.image,
                            "ports": [
                                {"name": "health", "containerPort": bot_env.DEFAULT_HEALTH_PORT}
                            ],
                            "env": env,
                            "resources": RESOURCES,
                            # A reconnect takes seconds: 3 misses (30 s) before a restart.
                            "livenessProbe": probe("/healthz", 3),
                            "readinessProbe": probe("/readyz", 1),
                            "securityContext": kube.restricted_container_security_context(),
                            # The only writable path (the root filesystem is read-only).
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                },
            },
        }
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=metadata, spec=deployment_spec, opts=in_cluster
        )
        pdb_spec: Any = {"minAvailable": 1, "selector": {"matchLabels": labels}}
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=metadata, spec=pdb_spec, opts=in_cluster
        )
        self.role_arn = role.arn
        self.namespace = ns
        self.register_outputs({"role_arn": self.role_arn, "namespace": self.namespace})


def github_env_vars(github: GitHubAppArgs) -> list[dict[str, object]]:
    """The GitHub App's settings; its private key by ARN, like the Slack tokens."""
    env: list[dict[str, object]] = [
        {"name": github_env.APP_ID, "value": str(github.app_id)},
        {"name": github_env.INSTALLATION_ID, "value": str(github.installation_id)},
        {"name": github_env.REPOSITORY, "value": github.repository},
        {"name": github_env.ACCESS_FILE_PATH, "value": github.access_file},
        {"name": github_env.PRIVATE_KEY_SECRET_ARN, "value": github.private_key_secret_arn},
    ]
    if github.auto_merge:
        env.append(
            {"name": github_env.AUTO_MERGE, "value": github.merge_method or REPOSITORY_METHOD}
        )
    return env


def slack_approval_env_vars(
    approval: SlackApprovalArgs, token_key_arn: pulumi.Input[str]
) -> list[dict[str, object]]:
    """Approve in Slack: the OAuth client (its secret by ARN) and the key the people's GitHub
    tokens are encrypted with (the request table's)."""
    env: list[dict[str, object]] = [
        {"name": approval_env.CLIENT_ID, "value": approval.client_id},
        {"name": approval_env.CLIENT_SECRET_SECRET_ARN, "value": approval.client_secret_secret_arn},
        {"name": approval_env.TOKEN_KEY_ARN, "value": token_key_arn},
        {"name": approval_env.ACCESS_LEVELS_VAR, "value": ",".join(approval.access_levels)},
    ]
    if approval.databases is not None:
        env.append({"name": approval_env.DATABASES_VAR, "value": ",".join(approval.databases)})
    if approval.owners_channels:
        channels = ",".join(f"{db}={channel}" for db, channel in approval.owners_channels)
        env.append({"name": approval_env.OWNERS_CHANNELS, "value": channels})
    if approval.web_url:
        env.append({"name": approval_env.WEB_URL, "value": approval.web_url})
    return env
