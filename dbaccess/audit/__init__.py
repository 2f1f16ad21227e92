"""`dbaccess audit` and `dbaccess sweep` on every engine: what a run produces and how it reads.

- `results`: findings and their kinds (meaning and fix), a run's results, ended sessions;
- `instances`: which instances of a server a run visits (every member of an Aurora cluster);
- `sweep_rules`: whom every engine's sweep leaves alone, and why it ends a session;
- `report`: how results read (text, JSON, Markdown).

The engine's own runs live with the engine: dbaccess.postgres.{audit,sweep} and
dbaccess.mysql.audit (audit and sweep), each reading its server with its own SQL.
"""
