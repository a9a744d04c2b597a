-- 0009_audit_log.sql
--
-- Creates: the audit_log table (spec 5.7), the generic trigger function
-- fn_audit_trigger, and AFTER INSERT OR UPDATE OR DELETE row triggers on the
-- nine security-critical tables of the spec (accounts, enrollments,
-- enrollment_unenroll_requests, devices, device_certificates,
-- partner_relationships, organization_members, blocklist_entries,
-- subscriptions) plus allowlist_entries (addition).
--
-- Why: authority-tier enrollments (courts, therapy programs) need a full,
-- tamper-evident trail of who changed what, when and from where. The API sets
-- the actor per transaction:
--     SELECT set_config('app.current_account_id', '42', true),
--            set_config('app.current_ip', '203.0.113.7', true);
-- (SET LOCAL app.current_account_id = '42' works too; note that
-- "SET LOCAL app.current_role = ..." is a syntax error because current_role
-- is a reserved word: write app."current_role" or use set_config.)
-- audit_log is append-only for the application role: it is granted SELECT and
-- INSERT only (0010), so UPDATE/DELETE fail with "permission denied".
--
-- Improvements over the spec's trigger:
-- * NULL/empty-safe context: current_setting(..., true) never raises, an
--   empty or malformed value becomes NULL without an exception block (the
--   spec's EXCEPTION handlers opened a subtransaction for every audited row).
-- * Deleting an account keeps working: audit_log.actor_account_id references
--   accounts ON DELETE SET NULL, so an audit row naming an actor that does not
--   exist (any more) would violate the foreign key and abort the audited
--   statement - e.g. a user deleting their own account, whose rows cascade
--   while app.current_account_id still names them. The trigger records
--   such an actor as NULL, exactly what ON DELETE SET NULL does to the
--   actor's earlier audit rows.
-- * accounts.password_hash is never copied into the log (it is readable by
--   the application role): it is replaced by "[redacted]", or by
--   "[redacted:changed]" in new_values when an UPDATE changed it.
-- * SECURITY DEFINER with a pinned search_path (pg_temp last, so a temporary
--   table cannot shadow audit_log or accounts).

-- ---------------------------------------------------------------------------
-- audit_log
-- ---------------------------------------------------------------------------
CREATE TABLE audit_log (
    id                BIGSERIAL    PRIMARY KEY,
    actor_account_id  BIGINT       REFERENCES accounts (id) ON DELETE SET NULL,
    table_name        VARCHAR(100) NOT NULL,
    row_id            BIGINT       NOT NULL,
    action            audit_action NOT NULL,
    old_values        JSONB,
    new_values        JSONB,
    client_ip         INET,
    created_at        TIMESTAMPTZ  NOT NULL DEFAULT now()
);

-- History of one row (compliance review).
CREATE INDEX idx_audit_log_table_row ON audit_log (table_name, row_id, created_at DESC);

-- What an actor did.
CREATE INDEX idx_audit_log_actor ON audit_log (actor_account_id, created_at DESC) WHERE actor_account_id IS NOT NULL;

-- Time range scans for export.
CREATE INDEX idx_audit_log_created ON audit_log (created_at DESC);

COMMENT ON TABLE audit_log IS 'Append-only trail of mutations of security-critical tables, written by fn_audit_trigger.';

-- ---------------------------------------------------------------------------
-- fn_audit_trigger
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fn_audit_trigger()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_actor_text text := btrim(current_setting('app.current_account_id', true));
    v_ip_text    text := btrim(current_setting('app.current_ip', true));
    v_actor      bigint;
    v_ip         inet;
    v_old        jsonb;
    v_new        jsonb;
    v_row_id     bigint;
BEGIN
    IF v_actor_text ~ '^[0-9]{1,18}$' THEN
        v_actor := v_actor_text::bigint;
        -- See header: an actor that does not exist (e.g. deleted by this very
        -- statement) cannot be referenced.
        IF NOT EXISTS (SELECT 1 FROM public.accounts a WHERE a.id = v_actor) THEN
            v_actor := NULL;
        END IF;
    END IF;

    IF v_ip_text IS NOT NULL AND v_ip_text <> '' THEN
        BEGIN
            v_ip := v_ip_text::inet;
        EXCEPTION WHEN data_exception THEN
            v_ip := NULL;
        END;
    END IF;

    IF TG_OP = 'INSERT' THEN
        v_new := to_jsonb(NEW);
        v_row_id := NEW.id;
    ELSIF TG_OP = 'UPDATE' THEN
        v_old := to_jsonb(OLD);
        v_new := to_jsonb(NEW);
        v_row_id := NEW.id;
    ELSE
        v_old := to_jsonb(OLD);
        v_row_id := OLD.id;
    END IF;

    IF TG_TABLE_NAME = 'accounts' THEN
        IF v_new IS NOT NULL THEN
            v_new := jsonb_set(v_new, '{password_hash}',
                CASE WHEN v_old IS NOT NULL AND v_old -> 'password_hash' IS DISTINCT FROM v_new -> 'password_hash'
                     THEN to_jsonb('[redacted:changed]'::text)
                     ELSE to_jsonb('[redacted]'::text) END);
        END IF;
        IF v_old IS NOT NULL THEN
            v_old := jsonb_set(v_old, '{password_hash}', to_jsonb('[redacted]'::text));
        END IF;
    END IF;

    INSERT INTO public.audit_log (actor_account_id, table_name, row_id, action, old_values, new_values, client_ip)
    VALUES (v_actor, TG_TABLE_NAME, v_row_id, TG_OP::public.audit_action, v_old, v_new, v_ip);

    RETURN NULL; -- AFTER trigger: the return value is ignored
END;
$$;

COMMENT ON FUNCTION fn_audit_trigger() IS
    'AFTER row trigger: appends the change to audit_log with actor (app.current_account_id) and client IP (app.current_ip).';

-- Only ever invoked as a trigger.
REVOKE ALL ON FUNCTION fn_audit_trigger() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Attach to the security-critical tables
-- ---------------------------------------------------------------------------
CREATE TRIGGER trg_audit_accounts
    AFTER INSERT OR UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_enrollments
    AFTER INSERT OR UPDATE OR DELETE ON enrollments
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_enrollment_unenroll_requests
    AFTER INSERT OR UPDATE OR DELETE ON enrollment_unenroll_requests
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_devices
    AFTER INSERT OR UPDATE OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_device_certificates
    AFTER INSERT OR UPDATE OR DELETE ON device_certificates
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_partner_relationships
    AFTER INSERT OR UPDATE OR DELETE ON partner_relationships
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_organization_members
    AFTER INSERT OR UPDATE OR DELETE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_blocklist_entries
    AFTER INSERT OR UPDATE OR DELETE ON blocklist_entries
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_subscriptions
    AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

-- Addition: changes to the allowlist un-block domains for every device, so
-- they are audited like blocklist changes.
CREATE TRIGGER trg_audit_allowlist_entries
    AFTER INSERT OR UPDATE OR DELETE ON allowlist_entries
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();
