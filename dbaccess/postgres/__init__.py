"""PostgreSQL / Aurora PostgreSQL: everything db-access knows about the engine (mirrors mysql/).

- `privileges`: what each access level may do in a database (applied by the program);
- `expected`: what the program declares on each server (pure, from the AccessPlan);
- `state`: what a server and its databases hold (read-only SQL);
- `findings`: where a server differs from access.yaml (pure);
- `connect`: how audit, sweep and bootstrap reach a database (the admin's RDS IAM token, or a DSN);
- `audit` and `sweep`: the two runs over every selected server and instance;
- `bootstrap`: the one-time set-up of a managed database, run as the master user
  (`dbaccess bootstrap`); its SQL is `bootstrap.sql`, shipped in the package;
- `preflight`: what `dbaccess doctor --operator` checks on the server before the first deploy.
- `audit_log`: pgaudit's lines in the RDS log (`dbaccess activity`), parsed.
"""
