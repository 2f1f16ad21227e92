"""The program itself (not only the offline preview) refuses a `secure:` setting without
decrypting it, and registers no secret value anywhere: the bot's secrets go by ARN."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pulumi
import pytest

from dbaccess.cli.iam_policy import declared_by_program, policies_of
from dbaccess.cli.preview_engine import run_program
from tests.program.conftest import ROOT, TODAY, ProgramRunner, stack_config
from tests.unit.iam.iam_evaluator import allowed

CIPHERTEXT = "v1:cGxhY2Vob2xkZXI6c2xhY2tCb3RUb2tlbg=="


def test_a_secure_setting_stops_the_program_with_how_to_move_it() -> None:
    config = stack_config()
    config = dataclasses.replace(
        config,
        values=config.values | {"dbaccess:slackAppToken": CIPHERTEXT},
        secret_keys=[*config.secret_keys, "dbaccess:slackAppToken"],
    )
    with pytest.raises(pulumi.RunError) as raised:
        run_program(ROOT, config, today=TODAY)
    message = str(raised.value)
    assert "'dbaccess:slackAppToken' is a `secure:` value" in message
    assert "aws secretsmanager create-secret --name dbaccess/slack-app-token" in message
    assert "pulumi config set dbaccess:slackAppTokenSecretArn" in message
    assert CIPHERTEXT not in message


def test_the_full_stack_registers_no_secret_only_arns(run_sample: ProgramRunner) -> None:
    program = run_sample()
    assert not program.of_type("kubernetes:core/v1:Secret")
    everything = json.dumps([r.inputs for r in program.resources], default=str)
    assert "xoxb-" not in everything
    assert "xapp-" not in everything
    assert "PRIVATE KEY" not in everything
    policy = json.loads(program.named("slack-bot-policy").inputs["policy"])
    (secrets,) = [s for s in policy["Statement"] if s["Sid"] == "ServiceSecrets"]
    stack = stack_config().raw_settings
    assert secrets["Resource"] == sorted(
        [stack["slackBotTokenSecretArn"], stack["slackAppTokenSecretArn"]]
    )


GITHUB_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbaccess/github-key-Mn56Ef"
SECRETS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e"


def test_the_boundary_lets_the_bot_read_every_secret_of_the_stack_and_no_other(
    tmp_path: Path,
) -> None:
    """The roles' permissions boundary (`dbaccess iam-policy boundary`) allows exactly the
    stack's secrets, the GitHub App's key and the secrets' own KMS key included."""
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.prod.yaml", "access.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "components", tmp_path / "components")
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text()
        + "  dbaccess:github:\n    appId: 123456\n    installationId: 7890123\n"
        + "    repository: example-org/access\n"
        + f"  dbaccess:githubAppPrivateKeySecretArn: {GITHUB_KEY}\n"
        + f"  dbaccess:secretsKmsKeyArn: {SECRETS_KEY}\n"
    )
    program = declared_by_program(tmp_path, "prod", "123456789012")
    boundary = policies_of(program, "prod", "eu-west-1", "123456789012")["123456789012"]["boundary"]
    raw = program.settings
    for arn in (raw.slackBotTokenSecretArn, raw.slackAppTokenSecretArn, GITHUB_KEY):
        assert arn is not None
        assert allowed(boundary, "secretsmanager:GetSecretValue", [arn])
    other = GITHUB_KEY.replace("github-key", "someone-elses")
    assert not allowed(boundary, "secretsmanager:GetSecretValue", [other])
    via = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    assert allowed(boundary, "kms:Decrypt", [SECRETS_KEY], via)
    [bot] = [d for d in program.declared if d.name == "slack-bot-policy"]
    statements = json.loads(bot.inputs["policy"])["Statement"]
    (secrets,) = [s for s in statements if s["Sid"] == "ServiceSecrets"]
    assert len(secrets["Resource"]) == 3
