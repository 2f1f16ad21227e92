"""What a server needs before db-access is deployed to it (`dbaccess doctor --operator`).

Each check returns what it found, or raises Failed (with the fix: a console setting or a
command) or Unchecked (the check could not run: an API that refused or does not answer).
`aws` asks AWS about the instance or cluster; each engine's `preflight` module
(dbaccess.postgres.preflight, dbaccess.mysql.preflight) asks the server itself, as its admin login.
"""

from __future__ import annotations

# The command that sets up a server for db-access (admin login, mark role, grants).
BOOTSTRAP = "dbaccess bootstrap --database {key}"


class Failed(Exception):
    """A prerequisite is missing: what is wrong, and how to fix it."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class Unchecked(Exception):
    """The check could not run; says why. Not a failure: nothing is known to be wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
