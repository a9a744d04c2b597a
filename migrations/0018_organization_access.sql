-- 0018_organization_access.sql
--
-- Creates: the organization_invitations table; the RLS helpers rls_is_org_member() and rls_is_org_admin();
-- row-level security on organizations, organization_members and organization_invitations; a trigger that
-- keeps memberships from being moved between accounts or organizations; and the SECURITY DEFINER functions
--   org_create(name, type, now)
--   org_member_profiles(organization_id)
--   org_invitations_for_current(now)
--   org_accept_invitation(invitation_public_id, token_hash, now)
--
-- Why: the spec leaves organizations and organization_members without RLS ("application-level checks").
-- Membership is what lets an organization's admins enroll a member's device under the authority tier
-- (court, therapy), so it is security-critical: this migration makes the database the second wall here too.
--   organizations             members read; admins of the organization update and delete; created only
--                             through org_create (which makes the creator its first admin)
--   organization_members      members of the organization read; admins change roles and remove; a member
--                             may remove itself; rows are inserted only by platform admins or by
--                             org_accept_invitation (the invitee's consent): an organization admin cannot
--                             add an account without that account accepting
--   organization_invitations  admins of the organization; the worker (role 'system') reads and expires
-- Creating a court or therapy organization needs the account role 'authority' (or 'admin'): those types
-- can enroll members' devices with policies the member cannot lift (user_can_request = false).

-- ---------------------------------------------------------------------------
-- organization_invitations
-- ---------------------------------------------------------------------------
CREATE TABLE organization_invitations (
    id                     BIGSERIAL       PRIMARY KEY,
    public_id              UUID            NOT NULL DEFAULT gen_random_uuid(),
    organization_id        BIGINT          NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Normalized (trimmed, lower-case) address the invitation was sent to.
    email                  VARCHAR(254)    NOT NULL,
    role                   org_member_role NOT NULL DEFAULT 'member',
    -- SHA-256 of the token mailed to the address.
    token_hash             BYTEA           NOT NULL,
    invited_by_account_id  BIGINT          REFERENCES accounts (id) ON DELETE SET NULL,
    -- pending | accepted | revoked | expired
    status                 VARCHAR(16)     NOT NULL DEFAULT 'pending',
    created_at             TIMESTAMPTZ     NOT NULL DEFAULT now(),
    expires_at             TIMESTAMPTZ     NOT NULL,
    accepted_at            TIMESTAMPTZ,
    accepted_by_account_id BIGINT          REFERENCES accounts (id) ON DELETE SET NULL,
    CONSTRAINT uq_organization_invitations_public_id UNIQUE (public_id),
    CONSTRAINT uq_organization_invitations_token_hash UNIQUE (token_hash),
    CONSTRAINT chk_organization_invitations_token_hash CHECK (octet_length(token_hash) = 32),
    CONSTRAINT chk_organization_invitations_email CHECK (email = lower(btrim(email)) AND position('@' IN email) > 1),
    CONSTRAINT chk_organization_invitations_status CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    CONSTRAINT chk_organization_invitations_expiry CHECK (expires_at > created_at)
);

-- One pending invitation per organization and address.
CREATE UNIQUE INDEX uq_organization_invitations_pending ON organization_invitations (organization_id, email) WHERE status = 'pending';

-- Invitations addressed to an account's address.
CREATE INDEX idx_organization_invitations_email_pending ON organization_invitations (email) WHERE status = 'pending';

-- Worker: invitations past their expiry.
CREATE INDEX idx_organization_invitations_expiry ON organization_invitations (expires_at) WHERE status = 'pending';

COMMENT ON TABLE organization_invitations IS
    'Invitations to join an organization, by e-mail address (token stored as SHA-256).';

CREATE TRIGGER trg_audit_organization_invitations
    AFTER INSERT OR UPDATE OR DELETE ON organization_invitations
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

-- Organizations are audited too: a renamed court program is part of the trail.
CREATE TRIGGER trg_audit_organizations
    AFTER INSERT OR UPDATE OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

-- ---------------------------------------------------------------------------
-- RLS helpers (SECURITY DEFINER: they read organization_members without its own policy, so the policies
-- below do not recurse).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rls_is_org_member(p_organization_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.organization_members m
         WHERE m.organization_id = p_organization_id
           AND m.account_id = public.current_account_id()
    )
$$;

CREATE OR REPLACE FUNCTION rls_is_org_admin(p_organization_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.organization_members m
         WHERE m.organization_id = p_organization_id
           AND m.account_id = public.current_account_id()
           AND m.role = 'admin'
    )
$$;

COMMENT ON FUNCTION rls_is_org_member(bigint) IS 'RLS helper: current_account_id() is a member (any role) of the organization.';
COMMENT ON FUNCTION rls_is_org_admin(bigint) IS 'RLS helper: current_account_id() is an admin of the organization.';

-- ---------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------
ALTER TABLE organizations            ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_members     ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_invitations ENABLE ROW LEVEL SECURITY;

ALTER TABLE organizations            FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_members     FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_invitations FORCE ROW LEVEL SECURITY;

CREATE POLICY organizations_member_read ON organizations
    FOR SELECT
    USING (current_account_role() = 'admin' OR rls_is_org_member(id));

CREATE POLICY organizations_admin_insert ON organizations
    FOR INSERT
    WITH CHECK (current_account_role() = 'admin');

CREATE POLICY organizations_admin_update ON organizations
    FOR UPDATE
    USING (current_account_role() = 'admin' OR rls_is_org_admin(id))
    WITH CHECK (current_account_role() = 'admin' OR rls_is_org_admin(id));

CREATE POLICY organizations_admin_delete ON organizations
    FOR DELETE
    USING (current_account_role() = 'admin' OR rls_is_org_admin(id));

CREATE POLICY organization_members_read ON organization_members
    FOR SELECT
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_is_org_member(organization_id)
    );

CREATE POLICY organization_members_platform_insert ON organization_members
    FOR INSERT
    WITH CHECK (current_account_role() = 'admin');

CREATE POLICY organization_members_admin_update ON organization_members
    FOR UPDATE
    USING (current_account_role() = 'admin' OR rls_is_org_admin(organization_id))
    WITH CHECK (current_account_role() = 'admin' OR rls_is_org_admin(organization_id));

CREATE POLICY organization_members_delete ON organization_members
    FOR DELETE
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
        OR rls_is_org_admin(organization_id)
    );

CREATE POLICY organization_invitations_admin ON organization_invitations
    FOR ALL
    USING (current_account_role() = 'admin' OR rls_is_org_admin(organization_id))
    WITH CHECK (current_account_role() = 'admin' OR rls_is_org_admin(organization_id));

CREATE POLICY organization_invitations_system_read ON organization_invitations
    FOR SELECT
    USING (rls_is_system());

CREATE POLICY organization_invitations_system_update ON organization_invitations
    FOR UPDATE
    USING (rls_is_system())
    WITH CHECK (rls_is_system());

-- A membership belongs to one account in one organization for good: an admin may change its role, never
-- hand it to another account (which would enroll that account without its consent).
CREATE OR REPLACE FUNCTION fn_organization_members_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog, pg_temp
AS $$
BEGIN
    IF public.current_account_role() = 'admin' OR public.current_account_id() IS NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.account_id <> OLD.account_id OR NEW.organization_id <> OLD.organization_id OR NEW.joined_at <> OLD.joined_at THEN
        RAISE EXCEPTION 'organization membership: account, organization and joined_at cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION fn_organization_members_guard() FROM PUBLIC;

CREATE TRIGGER trg_organization_members_guard
    BEFORE UPDATE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION fn_organization_members_guard();

-- ---------------------------------------------------------------------------
-- org_create: a new organization with the current account as its first admin. Court and therapy
-- organizations need the account role 'authority' or 'admin' (read from accounts, not from the session).
-- Returns no row when the account may not create this type.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION org_create(p_name text, p_type org_type, p_now timestamptz)
RETURNS TABLE (organization_id bigint, public_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_me   bigint := public.current_account_id();
    v_role public.account_role;
    v_id   bigint;
    v_pub  uuid;
BEGIN
    IF v_me IS NULL THEN
        RAISE EXCEPTION 'org_create: no current account' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT a.role INTO v_role FROM public.accounts a WHERE a.id = v_me;
    IF v_role IS NULL OR (p_type IN ('court', 'therapy') AND v_role NOT IN ('authority', 'admin')) THEN
        RETURN;
    END IF;
    INSERT INTO public.organizations AS o (name, type, created_at, updated_at)
    VALUES (p_name, p_type, p_now, p_now)
    RETURNING o.id, o.public_id INTO v_id, v_pub;
    INSERT INTO public.organization_members (organization_id, account_id, role, joined_at)
    VALUES (v_id, v_me, 'admin', p_now);
    organization_id := v_id;
    public_id := v_pub;
    RETURN NEXT;
END;
$$;

-- ---------------------------------------------------------------------------
-- org_member_profiles: members of an organization with their public profile, for its members.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION org_member_profiles(p_organization_id bigint)
RETURNS TABLE (
    account_id    bigint,
    public_id     uuid,
    email         text,
    display_name  text,
    role          org_member_role,
    joined_at     timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT a.id, a.public_id, a.email::text, a.display_name::text, m.role, m.joined_at
      FROM public.organization_members m
      JOIN public.accounts a ON a.id = m.account_id
     WHERE m.organization_id = p_organization_id
       AND (public.rls_is_org_member(p_organization_id) OR public.current_account_role() = 'admin')
     ORDER BY m.joined_at, m.id
$$;

-- ---------------------------------------------------------------------------
-- org_invitations_for_current: pending, unexpired invitations addressed to the current account's
-- verified address.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION org_invitations_for_current(p_now timestamptz)
RETURNS TABLE (
    invitation_public_id    uuid,
    organization_public_id  uuid,
    organization_name       text,
    organization_type       org_type,
    role                    org_member_role,
    created_at              timestamptz,
    expires_at              timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT i.public_id, o.public_id, o.name::text, o.type, i.role, i.created_at, i.expires_at
      FROM public.accounts a
      JOIN public.organization_invitations i ON i.email = lower(a.email)
      JOIN public.organizations o ON o.id = i.organization_id
     WHERE a.id = public.current_account_id()
       AND a.email_verified
       AND i.status = 'pending'
       AND i.expires_at > p_now
     ORDER BY i.created_at, i.id
$$;

-- ---------------------------------------------------------------------------
-- org_accept_invitation: the current account joins with the invitation's role. The invitation is named
-- either by its public id (then it must be addressed to the account's verified address) or by its mailed
-- token (p_token_hash; any signed-in account holding the token). Outcomes:
--   accepted        (organization_id set)
--   already_member  the account was a member already; the invitation is used up, the role is unchanged
--   invalid         unknown, revoked, used, or not addressed to this account
--   expired         past expires_at (p_now, the API's clock)
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION org_accept_invitation(p_invitation_public_id uuid, p_token_hash bytea, p_now timestamptz)
RETURNS TABLE (outcome text, organization_id bigint)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_me      bigint := public.current_account_id();
    v_account public.accounts%ROWTYPE;
    v_inv     public.organization_invitations%ROWTYPE;
    v_added   bigint;
BEGIN
    IF v_me IS NULL THEN
        RAISE EXCEPTION 'org_accept_invitation: no current account' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO v_account FROM public.accounts WHERE id = v_me;
    IF p_token_hash IS NOT NULL THEN
        SELECT * INTO v_inv FROM public.organization_invitations i WHERE i.token_hash = p_token_hash FOR UPDATE;
    ELSE
        SELECT * INTO v_inv FROM public.organization_invitations i
         WHERE i.public_id = p_invitation_public_id
           AND v_account.email_verified
           AND i.email = lower(v_account.email)
         FOR UPDATE;
    END IF;
    IF NOT FOUND OR v_inv.status IN ('accepted', 'revoked') THEN
        outcome := 'invalid';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_inv.status = 'expired' OR v_inv.expires_at <= p_now THEN
        outcome := 'expired';
        RETURN NEXT;
        RETURN;
    END IF;

    INSERT INTO public.organization_members (organization_id, account_id, role, joined_at)
    VALUES (v_inv.organization_id, v_me, v_inv.role, p_now)
    ON CONFLICT (organization_id, account_id) DO NOTHING
    RETURNING id INTO v_added;

    UPDATE public.organization_invitations
       SET status = 'accepted', accepted_at = p_now, accepted_by_account_id = v_me
     WHERE id = v_inv.id;

    outcome := CASE WHEN v_added IS NULL THEN 'already_member' ELSE 'accepted' END;
    organization_id := v_inv.organization_id;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION org_create(text, org_type, timestamptz) IS
    'Create an organization with the current account as admin; court/therapy need account role authority or admin.';
COMMENT ON FUNCTION org_member_profiles(bigint) IS
    'Members of an organization with public profile, for members of that organization.';
COMMENT ON FUNCTION org_invitations_for_current(timestamptz) IS
    'Pending organization invitations addressed to the current account''s verified address.';
COMMENT ON FUNCTION org_accept_invitation(uuid, bytea, timestamptz) IS
    'Join an organization by invitation id (own verified address) or mailed token.';

REVOKE ALL ON FUNCTION rls_is_org_member(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_is_org_admin(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION org_create(text, org_type, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION org_member_profiles(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION org_invitations_for_current(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION org_accept_invitation(uuid, bytea, timestamptz) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    rls_is_org_member(bigint),
    rls_is_org_admin(bigint),
    org_create(text, org_type, timestamptz),
    org_member_profiles(bigint),
    org_invitations_for_current(timestamptz),
    org_accept_invitation(uuid, bytea, timestamptz)
TO betblocker_api;
