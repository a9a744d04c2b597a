-- 0001_extensions_and_enums.sql
--
-- Creates: the extensions the schema depends on (pgcrypto, pg_trgm, and
-- pg_stat_statements when the server can actually use it) and every enum
-- type of the database spec, section 3.
--
-- Why: enums and extensions are referenced by every later migration, so they
-- come first. Enum values are append-only (spec section 10): never rename or
-- remove a label here; add new ones with ALTER TYPE ... ADD VALUE in a later
-- migration (a new label cannot be used in the transaction that added it, so
-- a migration that also needs the label must come after it, in its own file).

-- gen_random_uuid() is built into PostgreSQL 13+, pgcrypto is kept because
-- the spec lists it and the application may use digest()/hmac().
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Trigram operator classes for the fuzzy domain search index on
-- blocklist_entries.domain (created concurrently in 0006).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- pg_stat_statements is a monitoring aid, never a dependency. It only works
-- when the library is preloaded, it is not a "trusted" extension, and managed
-- services may not ship it, so it is installed opportunistically: migrating
-- must never fail because of it.
DO $$
DECLARE
    v_preload text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        RAISE NOTICE 'pg_stat_statements is not available on this server, skipped';
        RETURN;
    END IF;

    BEGIN
        v_preload := current_setting('shared_preload_libraries', true);
    EXCEPTION WHEN insufficient_privilege THEN
        v_preload := NULL;
    END;

    IF v_preload IS NULL OR NOT ('pg_stat_statements' = ANY (
            string_to_array(replace(replace(v_preload, ' ', ''), '"', ''), ','))) THEN
        RAISE NOTICE 'pg_stat_statements is not in shared_preload_libraries, skipped';
        RETURN;
    END IF;

    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_file THEN
        RAISE NOTICE 'pg_stat_statements could not be installed (%), skipped', SQLERRM;
    END;
END
$$;

-- ---------------------------------------------------------------------------
-- Enum types (spec section 3)
-- ---------------------------------------------------------------------------

-- Account role within the platform.
CREATE TYPE account_role AS ENUM ('user', 'partner', 'authority', 'admin');

-- Device operating system / platform.
CREATE TYPE device_platform AS ENUM ('windows', 'macos', 'linux', 'android', 'ios');

-- Device lifecycle: pending (registered, no heartbeat yet), active, stale
-- (heartbeat overdue), disabled (by owner or authority), decommissioned.
CREATE TYPE device_status AS ENUM ('pending', 'active', 'stale', 'disabled', 'decommissioned');

-- Enrollment tier: decides unenrollment authority, reporting visibility and
-- bypass protection level.
CREATE TYPE enrollment_tier AS ENUM ('self', 'partner', 'authority');

-- Enrollment lifecycle.
CREATE TYPE enrollment_status AS ENUM ('active', 'suspended', 'unenrolling', 'unenrolled');

-- Unenrollment request lifecycle. 'expired' = delay elapsed, auto-approved
-- (self tier).
CREATE TYPE unenroll_request_status AS ENUM ('pending', 'approved', 'denied', 'expired', 'cancelled');

-- Accountability partner relationship lifecycle.
CREATE TYPE partner_status AS ENUM ('invited', 'active', 'revoked', 'expired');

-- Organization type.
CREATE TYPE org_type AS ENUM ('family', 'therapy', 'court', 'enterprise');

-- Role of a member inside an organization.
CREATE TYPE org_member_role AS ENUM ('admin', 'member');

-- Where a blocklist entry came from.
CREATE TYPE blocklist_source AS ENUM ('curated', 'automated', 'federated');

-- Blocklist entry review state.
CREATE TYPE blocklist_entry_status AS ENUM ('active', 'review', 'rejected');

-- Review state of an agent-reported (federated) domain.
CREATE TYPE federated_report_status AS ENUM ('pending', 'confirmed', 'rejected', 'duplicate');

-- Event types emitted by device agents (app_block, install_block,
-- vpn_detected: phase 2; extension_removed: phase 3).
CREATE TYPE event_type AS ENUM (
    'block',
    'bypass_attempt',
    'tamper',
    'heartbeat',
    'config_change',
    'unenroll',
    'app_block',
    'install_block',
    'vpn_detected',
    'extension_removed'
);

-- Subscription plan (hosted deployments only).
CREATE TYPE subscription_plan AS ENUM ('standard', 'partner', 'institutional');

-- Subscription lifecycle, mirrors Stripe's statuses.
CREATE TYPE subscription_status AS ENUM ('trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused');

-- Audit log action, equal to TG_OP of the audit trigger.
CREATE TYPE audit_action AS ENUM ('INSERT', 'UPDATE', 'DELETE');
