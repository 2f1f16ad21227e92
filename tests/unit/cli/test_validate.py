"""`dbaccess validate` as a user runs it: a real subprocess, its output and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIVE_MISTAKES = """\
version: 1
databases:
  orders:
    engine: postgress
    account: 12345
    region: eu-west-1
    instance: orders-prod
    host: orders.example.com
    port: 70000
    database: orders
    admin_login: dbaccess_admin
people:
  hugo@example.com:
    grants:
      - {database: ordrs, access: read-only}
  alice@example.com:
    grnats: []
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbaccess", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_valid_file_prints_the_summary_and_when_dated_grants_end() -> None:
    result = run("validate", "access.yaml", "--date", "2026-11-23")
    assert result.returncode == 0
    assert result.stdout == (
        "OK: 9 people, 4 databases, 19 grants (1 expired)\n"
        "\n"
        "Dated grants: until is the last day of access, in UTC; AWS ends each at the next "
        "00:00 UTC.\n"
        "  until 2026-12-15 (ends 2026-12-16T00:00:00Z): olivia.chen@example.com read-write "
        "on analytics\n"
        "  until 2026-12-31 (ends 2027-01-01T00:00:00Z): hugo.henley@example.com read-write "
        "on orders\n"
        "\n"
        "Query audit (what the database's audit log records):\n"
        "  fatima.zahra@example.com: read-only on orders (fatimazahra_ro): write\n"
        "  hugo.henley@example.com: read-only on orders (hhenley_ro): write\n"
        "  hugo.henley@example.com: read-write on orders (hhenley_rw): write\n"
        "  marco.rossi@example.com: read-only on orders (marcorossi_ro): write\n"
        "  priya.raman@example.com: read-only on orders (priyaraman_ro): write\n"
    )


def test_five_mistakes_are_all_printed_with_lines_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "access.yaml"
    bad.write_text(FIVE_MISTAKES)
    result = run("validate", str(bad))
    assert result.returncode == 2
    located = [
        line.split(": ", 1)[0] for line in result.stderr.splitlines() if line.startswith(str(bad))
    ]
    assert located == [f"{bad}:{pos}" for pos in ("4:13", "5:14", "9:11", "15:20", "17:5")]
    assert "5 errors found; nothing was changed." in result.stderr
    assert "Traceback" not in result.stderr


def test_json_format_for_machines(tmp_path: Path) -> None:
    ok = json.loads(run("validate", "--format", "json", "--date", "2026-11-23").stdout)
    assert ok == {
        "ok": True,
        "people": 9,
        "databases": 4,
        "grants": 19,
        "expired": 1,
        "dated": [
            {
                "email": "olivia.chen@example.com",
                "database": "analytics",
                "access": "read-write",
                "until": "2026-12-15",
                "ends": "2026-12-16T00:00:00Z",
            },
            {
                "email": "hugo.henley@example.com",
                "database": "orders",
                "access": "read-write",
                "until": "2026-12-31",
                "ends": "2027-01-01T00:00:00Z",
            },
        ],
        "query_audit": [
            {
                "email": email,
                "database": "orders",
                "access": access,
                "login": login,
                "level": "write",
            }
            for email, access, login in [
                ("fatima.zahra@example.com", "read-only", "fatimazahra_ro"),
                ("hugo.henley@example.com", "read-only", "hhenley_ro"),
                ("hugo.henley@example.com", "read-write", "hhenley_rw"),
                ("marco.rossi@example.com", "read-only", "marcorossi_ro"),
                ("priya.raman@example.com", "read-only", "priyaraman_ro"),
            ]
        ],
    }
    bad = tmp_path / "access.yaml"
    bad.write_text(FIVE_MISTAKES)
    result = run("validate", str(bad), "--format", "json")
    assert result.returncode == 2
    errors = json.loads(result.stdout)["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (4, 13),
        (5, 14),
        (9, 11),
        (15, 20),
        (17, 5),
    ]
    assert all(e["fix"] for e in errors)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


HOSTILE = {
    "deep-nesting": b"version: 1\ndatabases: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "alias-bomb": b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        b"a%d: &a%d [%s]\n" % (i, i, b", ".join([b"*a" if i == 1 else b"*a%d" % (i - 1)] * 10))
        for i in range(1, 12)
    ),
    "nul": b"version: 1\ndatabases: {}\n# \x00\n",
    "not-utf8": b"version: 1\ndatabases: {}\n# \xff\n",
    "binary-tag": b"version: 1\ndatabases: !!binary aGVsbG8=\n",
}


def test_hostile_files_exit_2_with_a_located_error_and_no_traceback(tmp_path: Path) -> None:
    for name, content in HOSTILE.items():
        bad = tmp_path / f"{name}.yaml"
        bad.write_bytes(content)
        result = run("validate", str(bad))
        assert result.returncode == 2, name
        assert "Traceback" not in result.stderr, name
        assert result.stderr.startswith(f"{bad}:"), (name, result.stderr)


def test_a_directory_is_refused_without_a_traceback(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.returncode == 2
    assert f"cannot read {tmp_path}" in result.stderr
    assert "Traceback" not in result.stderr
