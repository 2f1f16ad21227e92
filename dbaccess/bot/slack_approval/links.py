"""Linked GitHub accounts: who linked which login, and their tokens, KMS-encrypted.

One item per linked person in the request table, `github-link#<slack user id>`: the login, the
email, the access and refresh tokens as one KMS ciphertext (the stack's key, with an encryption
context naming the purpose and the Slack user, so a ciphertext copied to another person's item
does not decrypt), when the access token expires, and a version that a refresh advances with a
conditional write (two replicas refreshing at once: one wins, the other re-reads). The item's
TTL is the refresh token's expiry. One more item, `github-link#index`, maps Slack user ids to
logins, so announcing a request reads one item instead of scanning the table.
Nothing here logs or returns a token but `Link.tokens`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from dbaccess.clients.github_user import UserTokens
from dbaccess.request_table import GITHUB_LINK_PREFIX as KEY_PREFIX
from dbaccess.request_table import GITHUB_TOKEN_PURPOSE as PURPOSE
from dbaccess.request_table import GITHUB_TOKEN_PURPOSE_KEY as PURPOSE_KEY
from dbaccess.request_table import PURGE_AT, REQUEST_ID, from_attribute, to_attribute

INDEX_KEY: Final = f"{KEY_PREFIX}index"
# The encryption context names the purpose (dbaccess.request_table, which the bot's IAM policy
# names) and the person.
SLACK_USER_KEY: Final = "dbaccess:slack-user"
_USER: Final = "u_"


@dataclass(frozen=True)
class Link:
    slack_user_id: str
    login: str
    email: str
    tokens: UserTokens = field(repr=False)
    version: int


class LinkStore:
    def __init__(self, dynamodb: Any, kms: Any, table: str, key_id: str) -> None:
        self._dynamodb = dynamodb
        self._kms = kms
        self._table = table
        self._key_id = key_id

    def save(self, slack_user_id: str, login: str, email: str, tokens: UserTokens) -> None:
        """A new link (replacing any earlier one of the person)."""
        self._write(slack_user_id, login, email, tokens, version=1, expected=None)
        self._dynamodb.update_item(
            TableName=self._table,
            Key={REQUEST_ID: to_attribute(INDEX_KEY)},
            UpdateExpression="SET #user = :login",
            ExpressionAttributeNames={"#user": f"{_USER}{slack_user_id}"},
            ExpressionAttributeValues={":login": to_attribute(login)},
        )

    def replace_tokens(self, link: Link, tokens: UserTokens) -> bool:
        """Store refreshed tokens; False if another replica refreshed first."""
        try:
            self._write(
                link.slack_user_id,
                link.login,
                link.email,
                tokens,
                version=link.version + 1,
                expected=link.version,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, slack_user_id: str) -> Link | None:
        item = self._dynamodb.get_item(
            TableName=self._table,
            Key={REQUEST_ID: to_attribute(self._key(slack_user_id))},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return None
        fields = {name: from_attribute(value) for name, value in item.items()}
        plain = self._kms.decrypt(
            CiphertextBlob=bytes(fields["tokens"]),
            KeyId=self._key_id,
            EncryptionContext=self._context(slack_user_id),
        )["Plaintext"]
        secret = json.loads(plain)
        return Link(
            slack_user_id=slack_user_id,
            login=str(fields["login"]),
            email=str(fields["email"]),
            tokens=UserTokens(
                access_token=secret["access"],
                refresh_token=secret["refresh"],
                access_expires_at=float(fields["access_expires_at"]),
                refresh_expires_at=float(fields[PURGE_AT]),
            ),
            version=int(fields["version"]),
        )

    def delete(self, slack_user_id: str) -> None:
        self._dynamodb.delete_item(
            TableName=self._table, Key={REQUEST_ID: to_attribute(self._key(slack_user_id))}
        )
        self._dynamodb.update_item(
            TableName=self._table,
            Key={REQUEST_ID: to_attribute(INDEX_KEY)},
            UpdateExpression="REMOVE #user",
            ExpressionAttributeNames={"#user": f"{_USER}{slack_user_id}"},
        )

    def linked(self) -> Mapping[str, str]:
        """Slack user id -> GitHub login, of everyone linked."""
        item = self._dynamodb.get_item(
            TableName=self._table, Key={REQUEST_ID: to_attribute(INDEX_KEY)}, ConsistentRead=True
        ).get("Item", {})
        return {
            name[len(_USER) :]: str(from_attribute(value))
            for name, value in sorted(item.items())
            if name.startswith(_USER)
        }

    def _write(
        self,
        slack_user_id: str,
        login: str,
        email: str,
        tokens: UserTokens,
        *,
        version: int,
        expected: int | None,
    ) -> None:
        secret = json.dumps({"access": tokens.access_token, "refresh": tokens.refresh_token})
        ciphertext = self._kms.encrypt(
            KeyId=self._key_id,
            Plaintext=secret.encode(),
            EncryptionContext=self._context(slack_user_id),
        )["CiphertextBlob"]
        item = {
            REQUEST_ID: self._key(slack_user_id),
            "login": login,
            "email": email,
            "tokens": Binary(ciphertext),
            "access_expires_at": int(tokens.access_expires_at),
            "version": version,
            PURGE_AT: int(tokens.refresh_expires_at),
        }
        condition: dict[str, Any] = (
            {}
            if expected is None
            else {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": to_attribute(expected)},
            }
        )
        self._dynamodb.put_item(
            TableName=self._table,
            Item={name: to_attribute(value) for name, value in item.items()},
            **condition,
        )

    @staticmethod
    def _key(slack_user_id: str) -> str:
        return f"{KEY_PREFIX}{slack_user_id}"

    @staticmethod
    def _context(slack_user_id: str) -> dict[str, str]:
        return {PURPOSE_KEY: PURPOSE, SLACK_USER_KEY: slack_user_id}
