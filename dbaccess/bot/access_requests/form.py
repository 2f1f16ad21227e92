"""The "Request access" modal: its Block Kit (pure builders) and the reading of a submission.

The modal offers every database of the catalog; what a submission may ask for is checked here,
in the modal (`response_action: errors`), with the same limits access.yaml's rules apply after
the edit (`dbaccess.access.rules`), so a person learns a rule while the form is still open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from dbaccess.access.naming import ACCESS_LEVELS
from dbaccess.access.rules import MAX_GRANT_DAYS
from dbaccess.bot import ids
from dbaccess.bot.access_requests.pull_request import RequestedGrant
from dbaccess.catalog import CatalogDatabase
from dbaccess.person_text import REASON_MAX, problem

# Read-write without a chosen end date ends after this many days (production needs a date).
DEFAULT_READ_WRITE_DAYS: Final = 30
# Slack: 100 options per select (or per option group, 100 groups), 75 characters per text.
SELECT_MAX_OPTIONS: Final = 100
OPTION_TEXT_MAX: Final = 75
ACCESS_TEXT: Final = {
    "read-only": "Read-only: query data",
    "read-write": "Read-write: change data",
}


@dataclass(frozen=True)
class FormError:
    """Refused in the modal: Slack shows `errors[block_id]` under that field."""

    errors: Mapping[str, str]


def request_access_button() -> Block:
    """The Home tab's button that opens the modal."""
    return ActionsBlock(
        block_id=ids.REQUEST_ACCESS_BLOCK,
        elements=[
            ButtonElement(
                text="Request access",
                action_id=ids.OPEN_REQUEST_FORM,
                value="open",
                accessibility_label="Ask for access to a database; owners review it",
            )
        ],
    )


def _cut(text: str) -> str:
    return text if len(text) <= OPTION_TEXT_MAX else text[: OPTION_TEXT_MAX - 1] + "…"


def _database_option(db: CatalogDatabase) -> Option:
    about = " · ".join(p for p in (db.description, "production" if db.production else "") if p)
    return Option(value=db.key, text=_cut(db.key), description=_cut(about) if about else None)


def _database_select(databases: Sequence[CatalogDatabase]) -> StaticSelectElement:
    options = [_database_option(db) for db in sorted(databases, key=lambda d: d.key)]
    if len(options) <= SELECT_MAX_OPTIONS:
        return StaticSelectElement(action_id=ids.FORM_DATABASE_ACTION, options=options)
    chunks = [
        options[i : i + SELECT_MAX_OPTIONS] for i in range(0, len(options), SELECT_MAX_OPTIONS)
    ]
    groups = [
        OptionGroup(label=_cut(f"{chunk[0].value} – {chunk[-1].value}"), options=chunk)
        for chunk in chunks
    ]
    return StaticSelectElement(action_id=ids.FORM_DATABASE_ACTION, option_groups=groups)


def request_form(databases: Sequence[CatalogDatabase], today: dt.date) -> dict[str, Any]:
    """The modal as views.open takes it."""
    latest = today + dt.timedelta(days=MAX_GRANT_DAYS)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    "Your request becomes a pull request on `access.yaml`, reviewed by the "
                    "database's owners. You get its link now and a message when it is decided."
                )
            )
        ),
        InputBlock(
            block_id=ids.FORM_DATABASE_BLOCK,
            label="Database",
            element=_database_select(databases),
        ),
        InputBlock(
            block_id=ids.FORM_ACCESS_BLOCK,
            label="Access",
            element=RadioButtonsElement(
                action_id=ids.FORM_ACCESS_ACTION,
                options=[Option(value=a, text=ACCESS_TEXT[a]) for a in ACCESS_LEVELS],
                initial_option=Option(value="read-only", text=ACCESS_TEXT["read-only"]),
            ),
        ),
        InputBlock(
            block_id=ids.FORM_UNTIL_BLOCK,
            label="Until (the last day of access)",
            optional=True,
            hint=PlainTextObject(
                text=(
                    f"At most {latest}. Required for read-write on production; read-write "
                    f"without a date ends after {DEFAULT_READ_WRITE_DAYS} days."
                )
            ),
            element=DatePickerElement(action_id=ids.FORM_UNTIL_ACTION),
        ),
        InputBlock(
            block_id=ids.FORM_REASON_BLOCK,
            label="Reason",
            optional=True,
            hint=PlainTextObject(text="Required for read-write on production, e.g. INC-1234."),
            element=PlainTextInputElement(
                action_id=ids.FORM_REASON_ACTION, multiline=True, max_length=REASON_MAX
            ),
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text="Owners decide in GitHub; nothing changes before.")]
        ),
    ]
    view = View(
        type="modal",
        callback_id=ids.REQUEST_FORM_CALLBACK,
        title="Request access",
        submit="Request",
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()


def _selected(values: Mapping[str, Any], block: str, action: str) -> Mapping[str, Any]:
    found = (values.get(block) or {}).get(action) or {}
    return found if isinstance(found, Mapping) else {}


def read_submission(
    view: Mapping[str, Any],
    email: str,
    databases: Mapping[str, CatalogDatabase],
    today: dt.date,
) -> RequestedGrant | FormError:
    """The grant a submitted modal asks for, or the errors to show in it (block id -> rule)."""
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    database = (
        _selected(values, ids.FORM_DATABASE_BLOCK, ids.FORM_DATABASE_ACTION).get("selected_option")
        or {}
    ).get("value")
    access = (
        _selected(values, ids.FORM_ACCESS_BLOCK, ids.FORM_ACCESS_ACTION).get("selected_option")
        or {}
    ).get("value")
    written_until = _selected(values, ids.FORM_UNTIL_BLOCK, ids.FORM_UNTIL_ACTION).get(
        "selected_date"
    )
    typed = str(_selected(values, ids.FORM_REASON_BLOCK, ids.FORM_REASON_ACTION).get("value") or "")
    # Slack's max_length binds only its own client: a crafted submission is checked here.
    if (why := problem(typed)) is not None:
        errors[ids.FORM_REASON_BLOCK] = f"The reason {why}."
    # One line in access.yaml and the pull request; blank is no reason.
    reason = " ".join(typed.split()) or None
    db = databases.get(str(database)) if database else None
    if db is None:
        errors[ids.FORM_DATABASE_BLOCK] = "Choose one of the databases in the list."
    if access not in ACCESS_LEVELS:
        errors[ids.FORM_ACCESS_BLOCK] = "Choose read-only or read-write."
    until: dt.date | None = None
    if written_until:
        try:
            until = dt.date.fromisoformat(str(written_until))
        except ValueError:
            errors[ids.FORM_UNTIL_BLOCK] = "Pick a date with the date picker."
    latest = today + dt.timedelta(days=MAX_GRANT_DAYS)
    if until is not None and until < today:
        errors[ids.FORM_UNTIL_BLOCK] = f"The last day of access cannot be in the past ({today})."
    elif until is not None and until > latest:
        errors[ids.FORM_UNTIL_BLOCK] = (
            f"At most a year at a time: pick {latest} or earlier, and renew later."
        )
    if db is not None and db.production and access == "read-write":
        if written_until is None:
            errors[ids.FORM_UNTIL_BLOCK] = (
                "Read-write on a production database needs an end date: standing write "
                "access to production is not allowed."
            )
        if reason is None and ids.FORM_REASON_BLOCK not in errors:
            errors[ids.FORM_REASON_BLOCK] = (
                "Read-write on a production database needs a reason that says why "
                "(e.g. INC-1234 backfill)."
            )
    if errors or db is None or access is None:  # without errors, both were chosen
        return FormError(errors)
    if until is None and access == "read-write":
        until = today + dt.timedelta(days=DEFAULT_READ_WRITE_DAYS)
    return RequestedGrant(
        email=email, database=db.key, access=str(access), until=until, reason=reason
    )
