-- 0011_row_level_security.sql
--
-- Creates: the session helpers current_account_id() and current_account_role(),
-- the SECURITY DEFINER visibility helpers rls_owns_device(),
-- rls_enrolled_device() and rls_can_see_enrollment(), and ENABLE + FORCE row
-- level security with one FOR ALL policy (USING + identical WITH CHECK) on
-- the nine tenant-scoped tables of spec section 6: accounts, devices,
-- enrollments, enrollment_unenroll_requests, partner_relationships,
-- refresh_tokens, device_certificates, subscriptions, reporting_snapshots.
--
-- Why: multi-tenancy is enforced twice (architecture.md): in the services and
-- here, so that a bug in a query cannot show or change another account's
-- rows. The API sets, inside each request's transaction:
--     SELECT set_config('app.current_account_id', '42', true),
--            set_config('app.current_role', 'user', true);
-- (careful: SET LOCAL app.current_role = 'user' is a syntax error, current_role
-- being a reserved word; SET LOCAL app."current_role" = 'user' works).
--
-- Fix of the spec: its devices policy reads enrollments and its enrollments
-- policy reads devices; PostgreSQL expands policies of tables referenced by
-- policies, so any query on either table fails with "infinite recursion
-- detected in policy". Here the cross-table checks are done by STABLE
-- SECURITY DEFINER functions owned by the migration owner: they read the
-- other table with the owner's rights, i.e. without applying its policy, so
-- there is no recursion and the spec's semantics hold:
--   accounts                      own row, or admin
--   devices                       owner, or the account that enrolled it with
--                                 an ACTIVE enrollment, or admin
--   enrollments                   enrolled_by, or the device owner, or admin
--   enrollment_unenroll_requests  requester, required approver, or admin
--   partner_relationships         either party, or admin
--   refresh_tokens                own, or admin
--   device_certificates           device owner, or the account with an active
--                                 enrollment on the device, or admin
--   subscriptions                 own, or admin
--   reporting_snapshots           whoever can see the enrollment, or admin
-- Each policy's WITH CHECK repeats its USING rule, so an application-role
-- session can neither INSERT a row belonging to another tenant nor UPDATE a
-- row so that it moves to another tenant.
--
-- Requirement: the migration owner (who owns the definer helpers) must be a
-- superuser or have BYPASSRLS. With FORCE ROW LEVEL SECURITY an ordinary table
-- owner is subject to the policies too, so the helpers would evaluate the
-- very policies they implement (unbounded recursion at query time); the
-- check below fails the migration early instead. FORCE still matters: it
-- keeps the policies on for any plain role that is later given ownership of
-- these tables (e.g. if the application were ever connected as an owner).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'the migration owner % must be SUPERUSER or have BYPASSRLS', current_user
            USING HINT = 'The row-level security helper functions (SECURITY DEFINER) read devices and enrollments with the owner''s rights; without BYPASSRLS the forced policies would recurse. Run migrations as a role with BYPASSRLS.';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Session helpers. NULL-safe: unset, empty or malformed values are NULL, and
-- a NULL never satisfies a policy. Plain SQL and no SET clause, so the planner
-- can inline them and use them as index conditions.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION current_account_id()
RETURNS bigint
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN btrim(current_setting('app.current_account_id', true)) ~ '^[0-9]{1,18}$'
        THEN btrim(current_setting('app.current_account_id', true))::bigint
    END
$$;

COMMENT ON FUNCTION current_account_id() IS
    'Account id of the current request (app.current_account_id), NULL when unset, empty or malformed.';

CREATE OR REPLACE FUNCTION current_account_role()
RETURNS text
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT NULLIF(btrim(current_setting('app.current_role', true)), '')
$$;

COMMENT ON FUNCTION current_account_role() IS
    'Role of the current request (app.current_role), NULL when unset or empty.';

-- ---------------------------------------------------------------------------
-- Cross-table visibility helpers (SECURITY DEFINER, see header). They only
-- ever answer a question about the current account, so they reveal nothing
-- about other tenants.
-- ---------------------------------------------------------------------------

-- Is the device owned by the current account?
CREATE OR REPLACE FUNCTION rls_owns_device(p_device_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.devices d
         WHERE d.id = p_device_id
           AND d.account_id = public.current_account_id()
    )
$$;

-- Does the current account hold an ACTIVE enrollment on the device?
CREATE OR REPLACE FUNCTION rls_enrolled_device(p_device_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.enrollments e
         WHERE e.device_id = p_device_id
           AND e.enrolled_by_account_id = public.current_account_id()
           AND e.status = 'active'
    )
$$;

-- May the current account see the enrollment (it enrolled the device, or it
-- owns the device)? Same rule as the enrollments policy, for tables that
-- hang off enrollments.
CREATE OR REPLACE FUNCTION rls_can_see_enrollment(p_enrollment_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.enrollments e
          JOIN public.devices d ON d.id = e.device_id
         WHERE e.id = p_enrollment_id
           AND (e.enrolled_by_account_id = public.current_account_id()
                OR d.account_id = public.current_account_id())
    )
$$;

COMMENT ON FUNCTION rls_owns_device(bigint) IS 'RLS helper: the device belongs to current_account_id().';
COMMENT ON FUNCTION rls_enrolled_device(bigint) IS 'RLS helper: current_account_id() holds an active enrollment on the device.';
COMMENT ON FUNCTION rls_can_see_enrollment(bigint) IS 'RLS helper: current_account_id() enrolled the device or owns it.';

REVOKE ALL ON FUNCTION rls_owns_device(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_enrolled_device(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_can_see_enrollment(bigint) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    current_account_id(),
    current_account_role(),
    rls_owns_device(bigint),
    rls_enrolled_device(bigint),
    rls_can_see_enrollment(bigint)
TO betblocker_api;

-- ---------------------------------------------------------------------------
-- Enable and force row-level security
-- ---------------------------------------------------------------------------
ALTER TABLE accounts                     ENABLE ROW LEVEL SECURITY;
ALTER TABLE devices                      ENABLE ROW LEVEL SECURITY;
ALTER TABLE enrollments                  ENABLE ROW LEVEL SECURITY;
ALTER TABLE enrollment_unenroll_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_relationships        ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens               ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_certificates          ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscriptions                ENABLE ROW LEVEL SECURITY;
ALTER TABLE reporting_snapshots          ENABLE ROW LEVEL SECURITY;

ALTER TABLE accounts                     FORCE ROW LEVEL SECURITY;
ALTER TABLE devices                      FORCE ROW LEVEL SECURITY;
ALTER TABLE enrollments                  FORCE ROW LEVEL SECURITY;
ALTER TABLE enrollment_unenroll_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE partner_relationships        FORCE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens               FORCE ROW LEVEL SECURITY;
ALTER TABLE device_certificates          FORCE ROW LEVEL SECURITY;
ALTER TABLE subscriptions                FORCE ROW LEVEL SECURITY;
ALTER TABLE reporting_snapshots          FORCE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------
-- Policies. Cheap column comparisons first, helper calls last (OR operands
-- are evaluated left to right).
-- ---------------------------------------------------------------------------

CREATE POLICY accounts_self ON accounts
    FOR ALL
    USING (
        id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        id = current_account_id()
        OR current_account_role() = 'admin'
    );

CREATE POLICY devices_owner ON devices
    FOR ALL
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_enrolled_device(id)
    )
    WITH CHECK (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_enrolled_device(id)
    );

CREATE POLICY enrollments_access ON enrollments
    FOR ALL
    USING (
        enrolled_by_account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_owns_device(device_id)
    )
    WITH CHECK (
        enrolled_by_account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_owns_device(device_id)
    );

CREATE POLICY unenroll_requests_access ON enrollment_unenroll_requests
    FOR ALL
    USING (
        requested_by_account_id = current_account_id()
        OR required_approver_account_id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        requested_by_account_id = current_account_id()
        OR required_approver_account_id = current_account_id()
        OR current_account_role() = 'admin'
    );

CREATE POLICY partner_relationships_access ON partner_relationships
    FOR ALL
    USING (
        account_id = current_account_id()
        OR partner_account_id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        account_id = current_account_id()
        OR partner_account_id = current_account_id()
        OR current_account_role() = 'admin'
    );

CREATE POLICY refresh_tokens_self ON refresh_tokens
    FOR ALL
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
    );

CREATE POLICY device_certs_access ON device_certificates
    FOR ALL
    USING (
        current_account_role() = 'admin'
        OR rls_owns_device(device_id)
        OR rls_enrolled_device(device_id)
    )
    WITH CHECK (
        current_account_role() = 'admin'
        OR rls_owns_device(device_id)
        OR rls_enrolled_device(device_id)
    );

CREATE POLICY subscriptions_self ON subscriptions
    FOR ALL
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
    );

CREATE POLICY reporting_snapshots_access ON reporting_snapshots
    FOR ALL
    USING (
        current_account_role() = 'admin'
        OR rls_can_see_enrollment(enrollment_id)
    )
    WITH CHECK (
        current_account_role() = 'admin'
        OR rls_can_see_enrollment(enrollment_id)
    );
