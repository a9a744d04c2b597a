-- 0010_application_role.sql
--
-- Creates: the application role betblocker_api (if it does not exist yet) and
-- its privileges: schema usage, SELECT/INSERT/UPDATE/DELETE on every table
-- except audit_log (SELECT, INSERT only: append-only), sequence usage,
-- EXECUTE on the partition functions, and default privileges so that tables
-- and sequences created by later migrations get the same grants.
--
-- Why: the API and worker connect as this role, never as the owner; row-level
-- security (0011) is what keeps tenants apart, so the role must not be able
-- to bypass it (NOSUPERUSER NOBYPASSRLS, not a member of the owner role).
--
-- Notes:
-- * Roles are cluster-wide while this file runs once per database, so the
--   creation is idempotent (two databases on one cluster share the role).
-- * The role is created NOLOGIN: whoever deploys (the launcher) grants LOGIN
--   and a password, which never belong in a migration.
-- * An existing role that has any of SUPERUSER, BYPASSRLS, CREATEDB,
--   CREATEROLE or REPLICATION is stripped of them (fails closed: if the
--   migration owner lacks the privilege to do so, the migration fails).
-- * Default privileges apply to objects created later by the role running
--   the migrations. A future append-only table must REVOKE UPDATE, DELETE
--   explicitly, like audit_log below.

DO $$
DECLARE
    r pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_roles WHERE rolname = 'betblocker_api';
    IF NOT FOUND THEN
        BEGIN
            CREATE ROLE betblocker_api NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT;
        EXCEPTION WHEN duplicate_object THEN
            -- Created meanwhile by the migration of another database.
            NULL;
        END;
    ELSIF r.rolsuper OR r.rolbypassrls OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication THEN
        RAISE NOTICE 'betblocker_api had elevated attributes, removing them';
        ALTER ROLE betblocker_api NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;

    -- Membership in the owner role would hand the application role the
    -- owner's rights (ALTER TABLE ... DISABLE ROW LEVEL SECURITY, audit_log
    -- UPDATE/DELETE). Refuse to continue rather than silently fix grants
    -- someone made on purpose.
    IF pg_has_role('betblocker_api', current_user, 'MEMBER') THEN
        RAISE EXCEPTION 'betblocker_api is a member of the migration owner role %', current_user
            USING HINT = 'REVOKE the membership: the application role must not own or administer the schema.';
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO betblocker_api;

-- Tables (and the existing events partitions).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO betblocker_api;

-- audit_log is append-only for the application.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM betblocker_api;

GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO betblocker_api;

-- Partition maintenance by the worker (ensure_events_partition is SECURITY
-- DEFINER: nobody but the application role needs it).
REVOKE ALL ON FUNCTION ensure_events_partition(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_events_partition(date) TO betblocker_api;
GRANT EXECUTE ON FUNCTION ensure_events_partitions(date, date) TO betblocker_api;

-- Future tables, partitions and sequences created by the migration owner.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO betblocker_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO betblocker_api;
