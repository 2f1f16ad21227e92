"""MySQL / Aurora MySQL: everything db-access knows about the engine (mirrors postgres/).

- `names`: the 32-character user name limit and the names MySQL, MariaDB and RDS own;
- `spec`: what one server should hold (databases, logins), as the program hands it over;
- `statements`: pure SQL builders (CREATE USER / GRANT / REVOKE / DROP USER);
- `bootstrap`: the one-time SQL that creates the admin user (`dbaccess bootstrap`);
- `apply`: runs them on a PyMySQL connection (the dynamic provider's create/update/delete);
- `connect`: the admin's connection over verified TLS with an RDS IAM token minted per call;
- `findings`: reads users, privileges and sessions; findings and sessions to end (pure);
- `audit`: the audit and sweep runs over every selected server and instance;
- `preflight`: what `dbaccess doctor --operator` checks on the server before the first deploy.
- `audit_log`: the audit plugin's log lines (`dbaccess activity`), parsed.

Nothing here imports pulumi: components/mysql_users.py wraps `apply` in a dynamic provider.
"""
