"""Slack listeners, one package per surface, each with `register(app)`."""

from __future__ import annotations

from slack_bolt import App

from dbaccess.bot.listeners import actions, approval, commands, events, request


def register_listeners(app: App) -> None:
    events.register(app)
    request.register(app)  # before commands: it takes `/dbaccess request`
    approval.register(app)  # before commands too: `/dbaccess link-github`, `unlink-github`
    commands.register(app)
    actions.register(app)  # last: its fallback refuses any action the others did not take
