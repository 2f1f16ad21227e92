"""PostgreSQL / Aurora PostgreSQL knowledge that is not the audit's.

- `bootstrap`: the one-time set-up of a managed database, run as the master user
  (`dbaccess bootstrap`); its SQL is `bootstrap.sql`, shipped in the package;
- `audit_log`: pgaudit's lines in the RDS log (`dbaccess activity`), parsed.
"""
