-- 0020_enrollment_guards.sql
--
-- Creates: the RLS helpers rls_may_insert_enrollment(), rls_may_file_enrollment_request() and
-- rls_is_org_admin_of_enrollment(); tightened and additional policies on enrollments and
-- enrollment_unenroll_requests; row-level security on enrollment_config_change_requests and notifications;
-- the lifecycle triggers trg_enrollments_guard and trg_*_requests_guard; and the SECURITY DEFINER lookups
--   enrollment_target_device(device_public_id)
--   enrollment_parties(enrollment_ids)
--   enrollment_related_accounts(owner_id, organization_id, account_public_ids)
--   enrollment_org_admin_ids(enrollment_id)
--   account_public_ids(account_ids)
--
-- Why: the unenrollment policy is the product's core promise; the services enforce it, and this migration
-- makes the database refuse what no service should ever do, whatever bug lets it try.
--
-- RLS gaps of 0011 closed (RESTRICTIVE policies, ANDed with 0011's FOR ALL policies):
-- * enrollments INSERT: 0011 accepted any row naming the current account as enrolled_by, so an account
--   could enroll somebody else's device and, through the devices policy, gain sight of it. Now a new
--   enrollment must be 'active' and one of (rls_may_insert_enrollment):
--     self       enrolled_by = current account = device owner, no organization
--     partner    enrolled_by is an ACTIVE partner of the device owner in a relationship the OWNER
--                initiated (partner_relationships.account_id = owner), the current account is the owner
--                or that partner, no organization
--     authority  enrolled_by = current account, an admin of the named court or therapy organization of
--                which the device owner is a member
-- * enrollment_unenroll_requests INSERT: 0011 accepted any row naming the current account as requester,
--   even on an enrollment it cannot see, and let it name itself as approver. Now (also for
--   enrollment_config_change_requests) the requester is the current account and the device owner, the
--   row is 'pending' and undecided, and the approver is the one the tier prescribes: NULL (self) or the
--   enrollment's enrolled_by (partner, authority).
-- Additional permissive policies:
-- * admins of an enrollment's organization see and update the enrollment and its requests (any of them
--   decides an authority-tier request);
-- * the worker (rls_is_system(): no account, role 'system') reads and updates enrollments and requests to
--   complete self-tier requests whose delay has passed; the triggers let it do nothing else.
-- Triggers (a policy cannot compare the old row with the new one):
-- * trg_enrollments_guard: device, enrolled_by, tier, organization, public_id and created_at are
--   immutable; 'unenrolled' is final; active -> unenrolling needs a pending unenroll request,
--   unenrolling -> active needs none, -> unenrolled needs an approved or expired request.
-- * trg_unenroll_requests_guard / trg_config_change_requests_guard: what identifies a request is
--   immutable; only pending requests change; cancelled by the requester (or because the enrollment ended,
--   or by the system when a due change no longer fits);
--   approved/denied by the required approver (authority tier: by a current admin of the organization),
--   who must be recorded as approved_by; expired (self tier) by the requester or the system. The delay
--   itself is checked by the service against the server clock (injected in tests), not here.
-- Admins (role 'admin') and sessions without actor context (the migration owner, CLI fixtures) are not
-- restricted by the triggers.

-- ---------------------------------------------------------------------------
-- RLS helpers
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rls_may_insert_enrollment(
    p_device_id       bigint,
    p_enrolled_by     bigint,
    p_tier            enrollment_tier,
    p_organization_id bigint
)
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
           AND CASE p_tier
               WHEN 'self' THEN
                   p_organization_id IS NULL
                   AND p_enrolled_by = public.current_account_id()
                   AND d.account_id = public.current_account_id()
               WHEN 'partner' THEN
                   p_organization_id IS NULL
                   AND p_enrolled_by <> d.account_id
                   AND public.current_account_id() IN (d.account_id, p_enrolled_by)
                   AND EXISTS (
                       SELECT 1 FROM public.partner_relationships r
                        WHERE r.account_id = d.account_id
                          AND r.partner_account_id = p_enrolled_by
                          AND r.status = 'active'
                   )
               WHEN 'authority' THEN
                   p_enrolled_by = public.current_account_id()
                   AND EXISTS (
                       SELECT 1
                         FROM public.organizations o
                         JOIN public.organization_members admin_m
                           ON admin_m.organization_id = o.id
                          AND admin_m.account_id = p_enrolled_by
                          AND admin_m.role = 'admin'
                         JOIN public.organization_members owner_m
                           ON owner_m.organization_id = o.id
                          AND owner_m.account_id = d.account_id
                        WHERE o.id = p_organization_id
                          AND o.type IN ('court', 'therapy')
                   )
               ELSE false
               END
    )
$$;

CREATE OR REPLACE FUNCTION rls_may_file_enrollment_request(
    p_enrollment_id      bigint,
    p_requested_by       bigint,
    p_required_approver  bigint,
    p_status             unenroll_request_status,
    p_approved_by        bigint,
    p_approved_at        timestamptz
)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT p_requested_by = public.current_account_id()
       AND p_status = 'pending'
       AND p_approved_by IS NULL
       AND p_approved_at IS NULL
       AND EXISTS (
           SELECT 1
             FROM public.enrollments e
             JOIN public.devices d ON d.id = e.device_id
            WHERE e.id = p_enrollment_id
              AND d.account_id = public.current_account_id()
              AND p_required_approver IS NOT DISTINCT FROM
                  CASE WHEN e.tier = 'self' THEN NULL ELSE e.enrolled_by_account_id END
       )
$$;

CREATE OR REPLACE FUNCTION rls_is_org_admin_of_enrollment(p_enrollment_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.enrollments e
          JOIN public.organization_members m
            ON m.organization_id = e.organization_id
           AND m.account_id = public.current_account_id()
           AND m.role = 'admin'
         WHERE e.id = p_enrollment_id
    )
$$;

COMMENT ON FUNCTION rls_may_insert_enrollment(bigint, bigint, enrollment_tier, bigint) IS
    'RLS helper: the current account may create this enrollment (see migration 0020 for the per-tier rules).';
COMMENT ON FUNCTION rls_may_file_enrollment_request(bigint, bigint, bigint, unenroll_request_status, bigint, timestamptz) IS
    'RLS helper: the current account (the device owner) may file this pending request with this approver.';
COMMENT ON FUNCTION rls_is_org_admin_of_enrollment(bigint) IS
    'RLS helper: current_account_id() is an admin of the enrollment''s organization.';

-- ---------------------------------------------------------------------------
-- enrollments
-- ---------------------------------------------------------------------------
CREATE POLICY enrollments_insert_guard ON enrollments
    AS RESTRICTIVE
    FOR INSERT
    WITH CHECK (
        current_account_role() = 'admin'
        OR (status = 'active' AND rls_may_insert_enrollment(device_id, enrolled_by_account_id, tier, organization_id))
    );

CREATE POLICY enrollments_org_admin_read ON enrollments
    FOR SELECT
    USING (organization_id IS NOT NULL AND rls_is_org_admin(organization_id));

CREATE POLICY enrollments_org_admin_update ON enrollments
    FOR UPDATE
    USING (organization_id IS NOT NULL AND rls_is_org_admin(organization_id))
    WITH CHECK (organization_id IS NOT NULL AND rls_is_org_admin(organization_id));

CREATE POLICY enrollments_system_read ON enrollments
    FOR SELECT
    USING (rls_is_system());

CREATE POLICY enrollments_system_update ON enrollments
    FOR UPDATE
    USING (rls_is_system())
    WITH CHECK (rls_is_system());

-- ---------------------------------------------------------------------------
-- enrollment_unenroll_requests
-- ---------------------------------------------------------------------------
CREATE POLICY unenroll_requests_insert_guard ON enrollment_unenroll_requests
    AS RESTRICTIVE
    FOR INSERT
    WITH CHECK (
        current_account_role() = 'admin'
        OR rls_may_file_enrollment_request(enrollment_id, requested_by_account_id, required_approver_account_id,
                                           status, approved_by_account_id, approved_at)
    );

CREATE POLICY unenroll_requests_org_admin_read ON enrollment_unenroll_requests
    FOR SELECT
    USING (rls_is_org_admin_of_enrollment(enrollment_id));

CREATE POLICY unenroll_requests_org_admin_update ON enrollment_unenroll_requests
    FOR UPDATE
    USING (rls_is_org_admin_of_enrollment(enrollment_id))
    WITH CHECK (rls_is_org_admin_of_enrollment(enrollment_id));

CREATE POLICY unenroll_requests_system_read ON enrollment_unenroll_requests
    FOR SELECT
    USING (rls_is_system());

CREATE POLICY unenroll_requests_system_update ON enrollment_unenroll_requests
    FOR UPDATE
    USING (rls_is_system())
    WITH CHECK (rls_is_system());

-- ---------------------------------------------------------------------------
-- enrollment_config_change_requests: the same rules as unenroll requests.
-- ---------------------------------------------------------------------------
ALTER TABLE enrollment_config_change_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE enrollment_config_change_requests FORCE ROW LEVEL SECURITY;

CREATE POLICY config_change_requests_access ON enrollment_config_change_requests
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

CREATE POLICY config_change_requests_insert_guard ON enrollment_config_change_requests
    AS RESTRICTIVE
    FOR INSERT
    WITH CHECK (
        current_account_role() = 'admin'
        OR rls_may_file_enrollment_request(enrollment_id, requested_by_account_id, required_approver_account_id,
                                           status, approved_by_account_id, approved_at)
    );

CREATE POLICY config_change_requests_org_admin_read ON enrollment_config_change_requests
    FOR SELECT
    USING (rls_is_org_admin_of_enrollment(enrollment_id));

CREATE POLICY config_change_requests_org_admin_update ON enrollment_config_change_requests
    FOR UPDATE
    USING (rls_is_org_admin_of_enrollment(enrollment_id))
    WITH CHECK (rls_is_org_admin_of_enrollment(enrollment_id));

CREATE POLICY config_change_requests_system_read ON enrollment_config_change_requests
    FOR SELECT
    USING (rls_is_system());

CREATE POLICY config_change_requests_system_update ON enrollment_config_change_requests
    FOR UPDATE
    USING (rls_is_system())
    WITH CHECK (rls_is_system());

-- ---------------------------------------------------------------------------
-- notifications: any acting account (or the system) enqueues; recipients read their own; the worker
-- (system) and admins read, mark sent and delete.
-- ---------------------------------------------------------------------------
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;

CREATE POLICY notifications_read ON notifications
    FOR SELECT
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_is_system()
    );

CREATE POLICY notifications_enqueue ON notifications
    FOR INSERT
    WITH CHECK (
        current_account_id() IS NOT NULL
        OR current_account_role() = 'admin'
        OR rls_is_system()
    );

CREATE POLICY notifications_deliver ON notifications
    FOR UPDATE
    USING (current_account_role() = 'admin' OR rls_is_system())
    WITH CHECK (current_account_role() = 'admin' OR rls_is_system());

CREATE POLICY notifications_purge ON notifications
    FOR DELETE
    USING (current_account_role() = 'admin' OR rls_is_system());

-- ---------------------------------------------------------------------------
-- Lifecycle triggers. SECURITY DEFINER so that they read the other table whatever the actor may see.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fn_enrollments_guard()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_me   bigint := public.current_account_id();
    v_role text   := public.current_account_role();
BEGIN
    IF v_role = 'admin' OR (v_me IS NULL AND v_role IS DISTINCT FROM 'system') THEN
        RETURN NEW;
    END IF;
    IF NEW.device_id <> OLD.device_id
       OR NEW.enrolled_by_account_id <> OLD.enrolled_by_account_id
       OR NEW.tier <> OLD.tier
       OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
       OR NEW.public_id <> OLD.public_id
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'enrollment: device, enrolled_by, tier, organization, public id and created_at are immutable'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'unenrolled' THEN
        RAISE EXCEPTION 'enrollment: unenrolled is final' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status = 'active' AND NEW.status = 'unenrolling' THEN
        IF EXISTS (SELECT 1 FROM public.enrollment_unenroll_requests r
                    WHERE r.enrollment_id = NEW.id AND r.status = 'pending') THEN
            RETURN NEW;
        END IF;
    ELSIF OLD.status = 'unenrolling' AND NEW.status = 'active' THEN
        IF NOT EXISTS (SELECT 1 FROM public.enrollment_unenroll_requests r
                        WHERE r.enrollment_id = NEW.id AND r.status = 'pending') THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.status = 'unenrolled' AND OLD.status IN ('active', 'unenrolling') THEN
        IF EXISTS (SELECT 1 FROM public.enrollment_unenroll_requests r
                    WHERE r.enrollment_id = NEW.id AND r.status IN ('approved', 'expired')) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'enrollment: % -> % is not allowed without a matching unenroll request', OLD.status, NEW.status
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

COMMENT ON FUNCTION fn_enrollments_guard() IS
    'BEFORE UPDATE on enrollments: immutable identity; status changes only along an unenroll request.';

REVOKE ALL ON FUNCTION fn_enrollments_guard() FROM PUBLIC;

CREATE TRIGGER trg_enrollments_guard
    BEFORE UPDATE ON enrollments
    FOR EACH ROW EXECUTE FUNCTION fn_enrollments_guard();

-- Shared by enrollment_unenroll_requests and enrollment_config_change_requests (same columns).
CREATE OR REPLACE FUNCTION fn_enrollment_requests_guard()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_me         bigint := public.current_account_id();
    v_role       text   := public.current_account_role();
    v_enrollment public.enrollments%ROWTYPE;
    v_decider_ok boolean;
BEGIN
    IF v_role = 'admin' OR (v_me IS NULL AND v_role IS DISTINCT FROM 'system') THEN
        RETURN NEW;
    END IF;
    IF NEW.enrollment_id <> OLD.enrollment_id
       OR NEW.requested_by_account_id <> OLD.requested_by_account_id
       OR NEW.requested_at <> OLD.requested_at
       OR NEW.required_approver_account_id IS DISTINCT FROM OLD.required_approver_account_id
       OR NEW.delay_until IS DISTINCT FROM OLD.delay_until
       OR NEW.public_id <> OLD.public_id
       OR (TG_TABLE_NAME = 'enrollment_config_change_requests'
           AND to_jsonb(NEW) -> 'changes' IS DISTINCT FROM to_jsonb(OLD) -> 'changes') THEN
        RAISE EXCEPTION '%: enrollment, requester, approver, delay and changes are immutable', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = OLD.status THEN
        IF NEW.approved_by_account_id IS DISTINCT FROM OLD.approved_by_account_id
           OR NEW.approved_at IS DISTINCT FROM OLD.approved_at THEN
            RAISE EXCEPTION '%: the decision is recorded only with a status change', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION '%: a decided request is final', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;

    SELECT * INTO v_enrollment FROM public.enrollments e WHERE e.id = NEW.enrollment_id;

    IF NEW.status = 'cancelled' THEN
        -- The requester; anyone once the enrollment has ended; the system (a due change that no longer fits).
        IF v_me IS NULL OR v_me = NEW.requested_by_account_id OR v_enrollment.status = 'unenrolled' THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.status = 'expired' THEN
        IF v_enrollment.tier = 'self' AND NEW.approved_at IS NOT NULL
           AND (v_me IS NULL OR (v_me = NEW.requested_by_account_id AND NEW.approved_by_account_id = v_me)) THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.status IN ('approved', 'denied') AND v_me IS NOT NULL THEN
        v_decider_ok :=
            (v_enrollment.tier = 'authority' AND v_enrollment.organization_id IS NOT NULL
                AND public.rls_is_org_admin(v_enrollment.organization_id))
            OR ((v_enrollment.tier <> 'authority' OR v_enrollment.organization_id IS NULL)
                AND v_me = NEW.required_approver_account_id);
        IF v_decider_ok AND NEW.approved_by_account_id = v_me AND NEW.approved_at IS NOT NULL THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '%: pending -> % is not allowed for this account', TG_TABLE_NAME, NEW.status
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

COMMENT ON FUNCTION fn_enrollment_requests_guard() IS
    'BEFORE UPDATE on unenroll/config change requests: only the prescribed party moves a pending request.';

REVOKE ALL ON FUNCTION fn_enrollment_requests_guard() FROM PUBLIC;

CREATE TRIGGER trg_unenroll_requests_guard
    BEFORE UPDATE ON enrollment_unenroll_requests
    FOR EACH ROW EXECUTE FUNCTION fn_enrollment_requests_guard();

CREATE TRIGGER trg_config_change_requests_guard
    BEFORE UPDATE ON enrollment_config_change_requests
    FOR EACH ROW EXECUTE FUNCTION fn_enrollment_requests_guard();

-- ---------------------------------------------------------------------------
-- Lookups across tenants, each answering only about rows the current account has a stake in.
-- ---------------------------------------------------------------------------

-- A device the current account may enroll: its own, one of an account that made it an active partner,
-- or one of a member of a court/therapy organization it administers. No row otherwise (the caller says
-- "not found", revealing nothing about other devices).
CREATE OR REPLACE FUNCTION enrollment_target_device(p_device_public_id uuid)
RETURNS TABLE (device_id bigint, owner_account_id bigint, device_status device_status)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT d.id, d.account_id, d.status
      FROM public.devices d
     WHERE d.public_id = p_device_public_id
       AND (
           d.account_id = public.current_account_id()
           OR EXISTS (
               SELECT 1 FROM public.partner_relationships r
                WHERE r.account_id = d.account_id
                  AND r.partner_account_id = public.current_account_id()
                  AND r.status = 'active'
           )
           OR EXISTS (
               SELECT 1
                 FROM public.organizations o
                 JOIN public.organization_members admin_m
                   ON admin_m.organization_id = o.id
                  AND admin_m.account_id = public.current_account_id()
                  AND admin_m.role = 'admin'
                 JOIN public.organization_members owner_m
                   ON owner_m.organization_id = o.id
                  AND owner_m.account_id = d.account_id
                WHERE o.type IN ('court', 'therapy')
           )
       )
$$;

-- Public ids of the parties of enrollments the current account can see (device owner, enrolled_by,
-- organization admins, platform admins). The device row itself may be out of the caller's sight (e.g. a
-- partner once the enrollment is no longer active).
CREATE OR REPLACE FUNCTION enrollment_parties(p_enrollment_ids bigint[])
RETURNS TABLE (
    enrollment_id           bigint,
    device_public_id        uuid,
    owner_account_id        bigint,
    owner_public_id         uuid,
    enrolled_by_public_id   uuid,
    organization_public_id  uuid,
    organization_type       org_type
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT e.id, d.public_id, d.account_id, owner_a.public_id, by_a.public_id, o.public_id, o.type
      FROM public.enrollments e
      JOIN public.devices d ON d.id = e.device_id
      JOIN public.accounts owner_a ON owner_a.id = d.account_id
      JOIN public.accounts by_a ON by_a.id = e.enrolled_by_account_id
      LEFT JOIN public.organizations o ON o.id = e.organization_id
     WHERE e.id = ANY (p_enrollment_ids)
       AND (
           public.current_account_role() = 'admin'
           OR public.rls_is_system()
           OR e.enrolled_by_account_id = public.current_account_id()
           OR d.account_id = public.current_account_id()
           OR (e.organization_id IS NOT NULL AND public.rls_is_org_admin(e.organization_id))
       )
$$;

-- The accounts among p_public_ids that may be named in an enrollment's unenrollment_policy.notify_accounts:
-- the device owner, the owner's active partners (relationships the owner initiated) and the members of the
-- enrollment's organization. Answers only when the current account is the owner, one of those partners or
-- an admin of that organization; unknown or unrelated ids are simply absent.
CREATE OR REPLACE FUNCTION enrollment_related_accounts(p_owner_id bigint, p_organization_id bigint, p_public_ids uuid[])
RETURNS TABLE (account_id bigint, public_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT a.id, a.public_id
      FROM public.accounts a
     WHERE a.public_id = ANY (p_public_ids)
       AND (
           public.current_account_id() = p_owner_id
           OR EXISTS (SELECT 1 FROM public.partner_relationships r
                       WHERE r.account_id = p_owner_id AND r.partner_account_id = public.current_account_id()
                         AND r.status = 'active')
           OR (p_organization_id IS NOT NULL AND public.rls_is_org_admin(p_organization_id))
       )
       AND (
           a.id = p_owner_id
           OR EXISTS (SELECT 1 FROM public.partner_relationships r
                       WHERE r.account_id = p_owner_id AND r.partner_account_id = a.id AND r.status = 'active')
           OR (p_organization_id IS NOT NULL AND EXISTS (
                   SELECT 1 FROM public.organization_members m
                    WHERE m.organization_id = p_organization_id AND m.account_id = a.id))
       )
$$;

-- Admins of the organization of an enrollment the current account can see (to notify them).
CREATE OR REPLACE FUNCTION enrollment_org_admin_ids(p_enrollment_id bigint)
RETURNS TABLE (account_id bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT m.account_id
      FROM public.enrollments e
      JOIN public.devices d ON d.id = e.device_id
      JOIN public.organization_members m ON m.organization_id = e.organization_id AND m.role = 'admin'
     WHERE e.id = p_enrollment_id
       AND (
           public.current_account_role() = 'admin'
           OR public.rls_is_system()
           OR e.enrolled_by_account_id = public.current_account_id()
           OR d.account_id = public.current_account_id()
           OR public.rls_is_org_admin(e.organization_id)
       )
     ORDER BY m.account_id
$$;

-- Internal id -> public id. Public ids are random and carry no profile data, so the mapping reveals
-- nothing but that an id exists (ids are sequential anyway); e-mail addresses and names are never returned.
CREATE OR REPLACE FUNCTION account_public_ids(p_account_ids bigint[])
RETURNS TABLE (account_id bigint, public_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT a.id, a.public_id FROM public.accounts a WHERE a.id = ANY (p_account_ids)
$$;

COMMENT ON FUNCTION enrollment_target_device(uuid) IS
    'A device the current account may enroll (own, partner''s, or an organization member''s); no row otherwise.';
COMMENT ON FUNCTION enrollment_parties(bigint[]) IS
    'Public ids of device, owner, enrolled_by and organization of enrollments the current account can see.';
COMMENT ON FUNCTION enrollment_related_accounts(bigint, bigint, uuid[]) IS
    'Accounts that may be notified about an enrollment (owner, owner''s active partners, organization members).';
COMMENT ON FUNCTION enrollment_org_admin_ids(bigint) IS
    'Admins of the organization of an enrollment the current account can see.';
COMMENT ON FUNCTION account_public_ids(bigint[]) IS
    'Public ids of accounts by internal id (no profile data).';

REVOKE ALL ON FUNCTION rls_may_insert_enrollment(bigint, bigint, enrollment_tier, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_may_file_enrollment_request(bigint, bigint, bigint, unenroll_request_status, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_is_org_admin_of_enrollment(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enrollment_target_device(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION enrollment_parties(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION enrollment_related_accounts(bigint, bigint, uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION enrollment_org_admin_ids(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION account_public_ids(bigint[]) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    rls_may_insert_enrollment(bigint, bigint, enrollment_tier, bigint),
    rls_may_file_enrollment_request(bigint, bigint, bigint, unenroll_request_status, bigint, timestamptz),
    rls_is_org_admin_of_enrollment(bigint),
    enrollment_target_device(uuid),
    enrollment_parties(bigint[]),
    enrollment_related_accounts(bigint, bigint, uuid[]),
    enrollment_org_admin_ids(bigint),
    account_public_ids(bigint[])
TO betblocker_api;
