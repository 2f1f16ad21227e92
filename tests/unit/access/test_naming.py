"""The login normaliser, property-tested: valid everywhere, deterministic, idempotent, unreserved."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dbaccess.access import naming

locals_ = st.text(min_size=0, max_size=120)


@given(locals_)
def test_base_is_valid_for_every_engine_that_can_hold_the_longest_base(local: str) -> None:
    # MySQL's 32 bytes cannot hold every base: the loader reports a login over an engine's
    # limit for the people who hold a grant there (test_mysql_engine.py shows it).
    longest = naming.BASE_MAX + max(len(suffix) for suffix in naming.LOGIN_SUFFIX.values())
    base = naming.login_base(local)
    assert naming.BASE_PATTERN.fullmatch(base)
    assert len(naming.role_name_for(base)) <= naming.ROLE_NAME_MAX
    for access in naming.ACCESS_LEVELS:
        login = naming.login_for(base, access)
        for limit in naming.LOGIN_MAX_BYTES.values():
            if limit >= longest:
                assert len(login.encode()) <= limit


@given(locals_)
def test_base_is_deterministic_and_idempotent(local: str) -> None:
    base = naming.login_base(local)
    assert naming.login_base(local) == base
    assert naming.login_base(base) == base


@given(
    st.one_of(
        locals_,
        st.sampled_from(sorted(naming.RESERVED_NAMES)),
        st.sampled_from(["rds", "pg", "PG", "r.d.s"]),
    )
)
def test_base_and_logins_are_never_reserved(local: str) -> None:
    base = naming.login_base(local)
    assert not naming.is_reserved(base)
    assert all(not naming.is_reserved(naming.login_for(base, a)) for a in naming.ACCESS_LEVELS)


def test_examples_from_the_architecture() -> None:
    assert naming.login_base("hugo.henley@example.com") == "hugohenley"
    assert naming.login_base("Ana.Silva+db@example.com") == "anasilvadb"
    assert naming.login_base("admin@example.com") == "uadmin"
    assert naming.login_base("rds@example.com") == "urds"
    assert naming.login_base("42@example.com") == "u42"
    assert naming.login_for("hhenley", "read-write") == "hhenley_rw"
