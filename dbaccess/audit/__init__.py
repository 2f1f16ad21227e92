"""What is in the PostgreSQL servers against what access.yaml says.

- `expected`: what the program declares on each server (pure, from the AccessPlan);
- `state`: what a server and its databases actually hold (read-only SQL);
- `compare`: the findings of `dbaccess audit`;
- `connect`: how both reach a database (the admin's RDS IAM token, or a DSN);
- `instances`: which instances of a server they visit (every member of an Aurora cluster);
- `check` and `sweep`: the two runs (`sweep_rules`: what both engines' sweeps share);
  `report`: how their results read.
"""
