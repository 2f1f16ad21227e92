"""Kubernetes settings as pure data: the kubeconfig Pulumi uses to reach the EKS cluster, and
the bot's pod hardening. No secrets: the credential is a short-lived token the AWS CLI makes
(`aws eks get-token`) whenever the Kubernetes provider calls the cluster."""

from __future__ import annotations

from typing import Any, Final

BOT_SERVICE_ACCOUNT: Final = "dbaccess-bot"
BOT_APP_LABEL: Final = "dbaccess-bot"
BOT_USER_ID: Final = 10001  # the Dockerfile's non-root user


def eks_kubeconfig(
    cluster_name: str, endpoint: str, certificate_authority: str, region: str | None
) -> dict[str, Any]:
    """A kubeconfig with an exec credential: `aws eks get-token` at every connection."""
    args = ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    if region:
        args += ["--region", region]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": certificate_authority,
                },
            }
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": "aws"}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": args,
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def restricted_container_security_context() -> dict[str, Any]:
    """Kubernetes' "restricted" Pod Security Standard, with a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "runAsUser": BOT_USER_ID,
        "runAsGroup": BOT_USER_ID,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
