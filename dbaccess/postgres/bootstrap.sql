-- db-access: bootstrap of one managed PostgreSQL / Aurora PostgreSQL database.
-- Run by `dbaccess bootstrap --database KEY`, as the master user, connected to that database
-- (dbaccess/postgres/bootstrap.py reads this file; docs/how-to/add-database.md says how).
--
-- Each block is one named query or statement. {admin}, {marker}, {database}, {schema},
-- {role} are names, filled with psycopg.sql.Identifier; %(name)s are values. The queries read
-- the catalog first: a statement runs only when what it sets is missing (so a second run
-- changes nothing), all of them in one transaction, and nobody who can connect today loses
-- CONNECT: the logins that had it only through PUBLIC get it directly, before PUBLIC loses it.


-- Queries --------------------------------------------------------------------------------

-- name: master
-- Who runs the bootstrap: it must be able to create roles (the RDS master user can).
SELECT current_user, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user

-- name: roles
SELECT rolname, rolcanlogin, rolcreaterole FROM pg_roles WHERE rolname = ANY(%(names)s)

-- name: server_version
SELECT current_setting('server_version_num')

-- name: audit_parameters
-- The pgaudit settings the admin may not SET yet (it sets them per login for query_audit);
-- only the loaded ones: pgaudit's settings exist once it is in shared_preload_libraries.
SELECT name FROM pg_settings
 WHERE name = ANY(%(names)s)
   AND NOT CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = %(admin)s)
                THEN has_parameter_privilege(%(admin)s, name, 'SET') ELSE false END

-- name: memberships
-- The roles the admin is a direct member of, and whether it may grant them on.
SELECT g.rolname, bool_or(m.admin_option)
  FROM pg_auth_members m
  JOIN pg_roles g ON g.oid = m.roleid
  JOIN pg_roles r ON r.oid = m.member
 WHERE r.rolname = %(admin)s
 GROUP BY g.rolname

-- name: database_grants
-- The database's ACL as granted (a NULL ACL is the built-in default: PUBLIC may connect).
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname END, a.privilege_type,
       a.is_grantable
  FROM pg_database d
 CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
  LEFT JOIN pg_roles r ON r.oid = a.grantee
 WHERE d.datname = current_database()

-- name: schema_grants
SELECT n.nspname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname END,
       a.privilege_type, a.is_grantable
  FROM pg_namespace n
  LEFT JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a ON true
  LEFT JOIN pg_roles r ON r.oid = a.grantee
 WHERE n.nspname = ANY(%(schemas)s)

-- name: logins
-- Every LOGIN role and how it reaches this database other than through PUBLIC: the role
-- holding CONNECT (TEMPORARY) in the database's ACL that it is or inherits from, else NULL.
-- `marked`: a login db-access made (a member of the mark role).
WITH acl AS (
  SELECT a.grantee, a.privilege_type
    FROM pg_database d
   CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
   WHERE d.datname = current_database() AND a.grantee <> 0
)
SELECT r.rolname, r.rolsuper, r.oid = 10 AS bootstrap,
       EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles k ON k.oid = m.roleid
                WHERE m.member = r.oid AND k.rolname = %(marker)s) AS marked,
       (SELECT g.rolname FROM acl JOIN pg_roles g ON g.oid = acl.grantee
         WHERE acl.privilege_type = 'CONNECT' AND pg_has_role(r.oid, g.oid, 'USAGE')
         ORDER BY g.oid <> r.oid, g.rolname LIMIT 1) AS connect_via,
       (SELECT g.rolname FROM acl JOIN pg_roles g ON g.oid = acl.grantee
         WHERE acl.privilege_type = 'TEMPORARY' AND pg_has_role(r.oid, g.oid, 'USAGE')
         ORDER BY g.oid <> r.oid, g.rolname LIMIT 1) AS temporary_via
  FROM pg_roles r
 WHERE r.rolcanlogin
 ORDER BY r.rolname

-- name: creators
-- The roles that own something in the schema (tables, views, sequences, functions, types)
-- or are access.yaml's table owners, and how they may create there other than through
-- PUBLIC (as above).
WITH acl AS (
  SELECT a.grantee
    FROM pg_namespace n
   CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
   WHERE n.nspname = %(schema)s AND a.privilege_type = 'CREATE' AND a.grantee <> 0
), owners AS (
  SELECT c.relowner AS owner FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s
  UNION
  SELECT p.proowner FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(schema)s
  UNION
  SELECT t.typowner FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = %(schema)s
  UNION
  SELECT oid FROM pg_roles WHERE rolname = ANY(%(owners)s)
)
SELECT r.rolname, r.rolsuper, r.oid = 10 AS bootstrap,
       EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles k ON k.oid = m.roleid
                WHERE m.member = r.oid AND k.rolname = %(marker)s) AS marked,
       (SELECT g.rolname FROM acl JOIN pg_roles g ON g.oid = acl.grantee
         WHERE pg_has_role(r.oid, g.oid, 'USAGE')
         ORDER BY g.oid <> r.oid, g.rolname LIMIT 1) AS create_via
  FROM owners o
  JOIN pg_roles r ON r.oid = o.owner
 ORDER BY r.rolname


-- Statements, in the order they run --------------------------------------------------------

-- name: create_admin
-- The admin login: IAM authentication only (members of rds_iam cannot use a password), may
-- create the person logins and group roles, may end sessions (`dbaccess sweep`).
CREATE ROLE {admin} WITH LOGIN CREATEROLE

-- name: admin_attributes
ALTER ROLE {admin} WITH LOGIN CREATEROLE

-- name: grant_rds_iam
GRANT rds_iam TO {admin} WITH ADMIN OPTION

-- name: grant_signal_backend
GRANT pg_signal_backend TO {admin}

-- name: grant_audit_parameter
-- query_audit: the admin sets pgaudit's settings per login (ALTER ROLE ... SET), which a
-- non-superuser may only do with SET on the parameter (PostgreSQL 15 and later).
GRANT SET ON PARAMETER {parameter} TO {admin}

-- name: create_marker
-- The mark of a login db-access made: the program grants it to every login it declares, and
-- `dbaccess sweep` ends only the sessions of logins that carry it (never an application's).
CREATE ROLE {marker} NOLOGIN

-- name: grant_marker
GRANT {marker} TO {admin} WITH ADMIN OPTION

-- name: keep_connect
-- A login that connects today only through PUBLIC (an application, a reporting tool, the
-- master user) keeps connecting: it gets CONNECT (TEMPORARY) directly first.
GRANT CONNECT ON DATABASE {database} TO {role}

-- name: keep_temporary
GRANT TEMPORARY ON DATABASE {database} TO {role}

-- name: revoke_public_connect
-- Then only this database's own group roles (the program grants them CONNECT) and the logins
-- kept above may connect; PUBLIC's default CONNECT would let every login of the server in,
-- whatever its grants.
REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC

-- name: grant_admin_connect
GRANT CONNECT ON DATABASE {database} TO {admin} WITH GRANT OPTION

-- name: keep_create
-- A role that owns objects in the schema (or is one of its table owners) and could create
-- them only through PUBLIC keeps CREATE; other logins lose it (PostgreSQL 15 and later never
-- give PUBLIC CREATE on a schema).
GRANT CREATE ON SCHEMA {schema} TO {role}

-- name: revoke_public_create
-- Nobody else creates objects in managed schemas: a person login that owned a function could
-- have it run as someone else once the login is gone.
REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC

-- name: grant_admin_usage
-- The admin may pass on USAGE to the group roles.
GRANT USAGE ON SCHEMA {schema} TO {admin} WITH GRANT OPTION

-- name: grant_owner
-- Membership in each table owner lets the admin grant on their tables and set default
-- privileges for the tables they create later.
GRANT {role} TO {admin}
