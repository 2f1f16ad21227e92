-- db-access: bootstrap of one managed PostgreSQL / Aurora PostgreSQL database.
-- Run once per database listed in access.yaml, as the master user, connected to that database:
--
--   psql "host=<endpoint> dbname=<database> user=<master user> sslmode=verify-full \
--         sslrootcert=global-bundle.pem" \
--        -v admin=dbaccess_admin -v database=orders \
--        -v schemas=public,billing -v owners=orders_app \
--        -f sql/bootstrap-postgres.sql
--
-- admin    the database's `admin_login` (the same on every database of one server)
-- database the database's `database`
-- schemas  its `schemas` (default public), comma-separated
-- owners   its `table_owners`, comma-separated (may be empty: -v owners=)
--
-- Re-running it is harmless. tests/services/test_postgres_access_matrix.py runs this file on a
-- real PostgreSQL before applying what the program declares as the admin login.
\set ON_ERROR_STOP on

-- The admin login: IAM authentication only (members of rds_iam cannot use a password), may
-- create the person logins and group roles, may end sessions (`dbaccess sweep`).
SELECT format('CREATE ROLE %I WITH LOGIN CREATEROLE', :'admin')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'admin') \gexec
GRANT rds_iam TO :"admin" WITH ADMIN OPTION;
GRANT pg_signal_backend TO :"admin";

-- The mark of a login db-access made: the program grants it to every login it declares, and
-- `dbaccess sweep` ends only the sessions of logins that carry it (never an application's).
SELECT 'CREATE ROLE dbaccess_managed NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbaccess_managed') \gexec
GRANT dbaccess_managed TO :"admin" WITH ADMIN OPTION;

-- Only this database's own group roles may connect (the program grants them CONNECT); PUBLIC's
-- default CONNECT would let every login of the server in, whatever its grants.
REVOKE CONNECT, TEMPORARY ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"admin" WITH GRANT OPTION;

-- Nobody but the owners creates objects in managed schemas: a person login that owned a
-- function could have it run as someone else once the login is gone. The admin may pass on
-- USAGE to the group roles.
SELECT format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', s),
       format('GRANT USAGE ON SCHEMA %I TO %I WITH GRANT OPTION', s, :'admin')
  FROM unnest(string_to_array(:'schemas', ',')) AS s \gexec

-- Membership in each table owner lets the admin grant on their tables and set default
-- privileges for the tables they create later.
SELECT format('GRANT %I TO %I', o, :'admin')
  FROM unnest(string_to_array(:'owners', ',')) AS o
 WHERE o <> '' \gexec
