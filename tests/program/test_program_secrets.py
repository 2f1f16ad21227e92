"""The program itself (not only the offline preview) refuses a `secure:` setting without
decrypting it, and registers no secret value anywhere: the bot's secrets go by ARN."""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

from dbaccess.cli.preview_engine import run_program
from tests.program.conftest import ROOT, TODAY, ProgramRunner, stack_config

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
