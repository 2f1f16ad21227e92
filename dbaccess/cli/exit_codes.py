"""What `dbaccess` exits with: one code per meaning a script can act on (httpie's `ExitStatus`
is the model). The reference page docs/reference/exit-codes.md is generated from this enum.

One name per code, as httpie does: an audit finding, an unapproved change and an AWS error are
all 1, and a script cannot tell them apart by the code, so the enum does not pretend to.
"""

from __future__ import annotations

import enum


@enum.unique
class ExitCode(enum.IntEnum):
    """The exit codes of every `dbaccess` command, each with what it means."""

    meaning: str

    def __new__(cls, code: int, meaning: str) -> ExitCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    OK = 0, "success: done, valid, clean or approved"
    FAILED = (
        1,
        "an operation failed (AWS, GitHub, a database, the network), or a check did not pass "
        "(audit findings, a change not approved)",
    )
    INVALID_INPUT = 2, "invalid input or usage (a file, an option, the configuration)"
