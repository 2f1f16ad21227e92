"""The services' secrets (the Slack tokens, the GitHub App's key): plain text in Secrets
Manager, named by ARN, read once at start. The stack file and the state never hold them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.service_env import SettingsError, required

# ARN -> the secret's text; SettingsError when it cannot be read.
SecretReader = Callable[[str], str]
SECRET_ARN: Final = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9_/+=.@-]+"
)


def read_named_secret(environ: Mapping[str, str], name: str, read_secret: SecretReader) -> str:
    """The text of the secret whose ARN the variable `name` holds."""
    arn = required(environ, name, "the ARN of a Secrets Manager secret")
    if not SECRET_ARN.fullmatch(arn):
        raise SettingsError(f"{name}={arn!r} is not a Secrets Manager secret ARN")
    value = read_secret(arn)
    if not value:
        raise SettingsError(f"the secret {arn} ({name}) is empty")
    return value


def read_secret(secretsmanager: Any, secret_arn: str) -> str:
    """The secret's text, stripped (a trailing newline from `file://` is not part of it)."""
    return str(secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"]).strip()


def secret_reader(secretsmanager: Any) -> SecretReader:
    """read_secret that answers a failure as a SettingsError naming the ARN and AWS's error
    code (never a value)."""

    def read(secret_arn: str) -> str:
        try:
            return read_secret(secretsmanager, secret_arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise SettingsError(f"cannot read the secret {secret_arn}: {code}") from None
        except (BotoCoreError, KeyError) as exc:
            raise SettingsError(
                f"cannot read the secret {secret_arn}: {type(exc).__name__}"
            ) from None

    return read
