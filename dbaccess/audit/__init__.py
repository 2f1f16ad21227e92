"""What is in the PostgreSQL servers against what access.yaml says.

- `expected`: what the program declares on each server (pure, from the AccessPlan);
- `state`: what a server and its databases actually hold (read-only SQL);
- `compare`: the findings of `dbaccess audit`;
- `sessions`: the sessions `dbaccess sweep` ends;
- `connect`: how both reach a database (the admin's RDS IAM token, or a DSN).
"""
