"""The grant reaper: a daily Lambda that tracks usage, sends expiry notices and writes the report.

`core` holds the rules (pure), `messages` the Slack text (pure), `run.Reaper` the I/O and
`handler.lambda_handler` the entry point. The report it writes, `stale-grants.json`, is what
`dbaccess expire` turns into a pull request: the reaper itself never changes access.
"""
