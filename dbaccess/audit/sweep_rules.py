"""What both engines' sweeps share: whom they leave alone beyond their rule, and why they end a
session (as reports say it). No driver imported: the MySQL provider's module reads it too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Why a session is ended.
NOT_GIVEN: Final = "marked login no longer given on this server"
DROPPED: Final = "its login no longer exists"
DATABASE_LOST: Final = "in a database it is no longer granted"
UNMARKED: Final = "undeclared IAM login without the mark (--include-unmarked)"


@dataclass(frozen=True)
class SweepRules:
    # Logins sweep never touches, whatever else holds (dbaccess:sweepExemptLogins).
    exempt: frozenset[str] = frozenset()
    # Also end undeclared IAM logins without the mark (made by hand, or before db-access).
    include_unmarked: bool = False


NO_EXEMPTION: Final = SweepRules()
