"""The "Request access" feature: a Slack form becomes a pull request on access.yaml that the
database's owners review; the bot follows it and tells the requester."""
