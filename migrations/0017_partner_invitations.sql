-- 0017_partner_invitations.sql
--
-- Creates: partner_relationships.public_id; the partner_invitations table (invitations by e-mail address,
-- also to addresses that have no account yet); the session helper rls_is_system(); the RLS helper
-- rls_is_partner_relationship_party(); row-level security for partner_invitations; tightened policies and a
-- transition trigger on partner_relationships; and the SECURITY DEFINER functions
--   partner_invite(email, token_hash, now, expires_at)
--   partner_claim_invitations(now)
--   partner_accept_invitation_token(token_hash, now)
--   partner_counterparts()
--
-- Why: an account invites an accountability partner by e-mail address. The answer must not reveal whether
-- the address has an account, and an account must never be able to make itself someone else's partner.
--
-- Model:
-- * Every invitation is a partner_invitations row (SHA-256 of a token that is mailed to the address). If the
--   address belongs to an account whose address is verified, the invitation is converted at once into a
--   partner_relationships row with status 'invited' (same public_id as the invitation); otherwise it is
--   converted when that account verifies its address and uses the partner API (partner_claim_invitations),
--   or when any signed-in account presents the token (partner_accept_invitation_token, which also accepts).
-- * partner_relationships.account_id is always the inviter (the protected user), partner_account_id the
--   invited partner. Only the invited party accepts; either party revokes; a revoked or expired pair can
--   be invited again (the old row is replaced; audit_log keeps its history).
--
-- RLS gaps of 0011 closed here (0011's FOR ALL policy stays; RESTRICTIVE policies are ANDed with it):
-- * INSERT: 0011 accepted any row naming the current account on either side, so an account could insert
--   an 'active' relationship naming itself as somebody's partner (and gain partner rights over them).
--   Now an application-role INSERT must name the current account as account_id (the inviter) with status
--   'invited' and no accepted_at (admins excepted).
-- * UPDATE: a policy cannot compare old and new rows, so trg_partner_relationships_guard checks the
--   transition: parties and public_id are immutable; invited -> active only by the invited party;
--   invited|active -> revoked by either party; invited -> expired only by the system (worker); nothing
--   leaves revoked or expired.
-- * DELETE: only admins (history stays; re-invitation replaces rows inside partner_invite).
--
-- The worker (role 'system', no account) expires invitations: it gets SELECT and UPDATE on
-- partner_invitations and partner_relationships through the *_system_* policies (rls_is_system()), and
-- the trigger lets it do nothing but invited -> expired.

-- ---------------------------------------------------------------------------
-- Session helper: the worker's context (no account, role 'system').
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rls_is_system()
RETURNS boolean
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT public.current_account_id() IS NULL AND public.current_account_role() IS NOT DISTINCT FROM 'system'
$$;

COMMENT ON FUNCTION rls_is_system() IS
    'The transaction acts as the system (worker): no account id and app.current_role = ''system''.';

-- ---------------------------------------------------------------------------
-- partner_relationships.public_id: the id used in URLs (/api/v1/partners/{id}).
-- ---------------------------------------------------------------------------
ALTER TABLE partner_relationships ADD COLUMN public_id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE partner_relationships ADD CONSTRAINT uq_partner_relationships_public_id UNIQUE (public_id);

COMMENT ON COLUMN partner_relationships.public_id IS
    'Public id; equals the public_id of the invitation the relationship came from.';

-- ---------------------------------------------------------------------------
-- partner_invitations
-- ---------------------------------------------------------------------------
CREATE TABLE partner_invitations (
    id                  BIGSERIAL    PRIMARY KEY,
    public_id           UUID         NOT NULL DEFAULT gen_random_uuid(),
    -- The protected user who asks the addressee to be their accountability partner.
    inviter_account_id  BIGINT       NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Normalized (trimmed, lower-case) address the invitation was sent to.
    email               VARCHAR(254) NOT NULL,
    -- SHA-256 of the token mailed to the address (never the token itself).
    token_hash          BYTEA        NOT NULL,
    -- pending | accepted | revoked (by the inviter, or the relationship was revoked before acceptance) | expired
    status              VARCHAR(16)  NOT NULL DEFAULT 'pending',
    -- Set once the invitation is converted into a relationship. CASCADE: when a revoked or expired
    -- relationship is replaced by a new invitation, its old invitations go with it (audit_log keeps both).
    relationship_id     BIGINT       REFERENCES partner_relationships (id) ON DELETE CASCADE,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expires_at          TIMESTAMPTZ  NOT NULL,
    accepted_at         TIMESTAMPTZ,
    CONSTRAINT uq_partner_invitations_public_id UNIQUE (public_id),
    CONSTRAINT uq_partner_invitations_token_hash UNIQUE (token_hash),
    CONSTRAINT chk_partner_invitations_token_hash CHECK (octet_length(token_hash) = 32),
    CONSTRAINT chk_partner_invitations_email CHECK (email = lower(btrim(email)) AND position('@' IN email) > 1),
    CONSTRAINT chk_partner_invitations_status CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    CONSTRAINT chk_partner_invitations_expiry CHECK (expires_at > created_at)
);

-- One pending invitation per inviter and address.
CREATE UNIQUE INDEX uq_partner_invitations_pending ON partner_invitations (inviter_account_id, email) WHERE status = 'pending';

-- Conversion when the addressee signs in.
CREATE INDEX idx_partner_invitations_email_pending ON partner_invitations (email) WHERE status = 'pending';

-- Worker: invitations past their expiry.
CREATE INDEX idx_partner_invitations_expiry ON partner_invitations (expires_at) WHERE status = 'pending';

-- Invitation of a relationship.
CREATE INDEX idx_partner_invitations_relationship ON partner_invitations (relationship_id) WHERE relationship_id IS NOT NULL;

COMMENT ON TABLE partner_invitations IS
    'Accountability-partner invitations by e-mail address (token stored as SHA-256); converted into partner_relationships.';

CREATE TRIGGER trg_audit_partner_invitations
    AFTER INSERT OR UPDATE OR DELETE ON partner_invitations
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

-- ---------------------------------------------------------------------------
-- RLS helper: is the current account a party of the relationship?
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rls_is_partner_relationship_party(p_relationship_id bigint)
RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.partner_relationships r
         WHERE r.id = p_relationship_id
           AND public.current_account_id() IN (r.account_id, r.partner_account_id)
    )
$$;

COMMENT ON FUNCTION rls_is_partner_relationship_party(bigint) IS
    'RLS helper: current_account_id() is the inviter or the partner of the relationship.';

-- ---------------------------------------------------------------------------
-- partner_invitations policies: the inviter; the parties of the converted relationship may read it (the
-- invitee needs its expiry); the worker reads and expires.
-- ---------------------------------------------------------------------------
ALTER TABLE partner_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE partner_invitations FORCE ROW LEVEL SECURITY;

CREATE POLICY partner_invitations_access ON partner_invitations
    FOR ALL
    USING (
        inviter_account_id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        inviter_account_id = current_account_id()
        OR current_account_role() = 'admin'
    );

CREATE POLICY partner_invitations_party_read ON partner_invitations
    FOR SELECT
    USING (relationship_id IS NOT NULL AND rls_is_partner_relationship_party(relationship_id));

CREATE POLICY partner_invitations_system_read ON partner_invitations
    FOR SELECT
    USING (rls_is_system());

CREATE POLICY partner_invitations_system_update ON partner_invitations
    FOR UPDATE
    USING (rls_is_system())
    WITH CHECK (rls_is_system());

-- ---------------------------------------------------------------------------
-- partner_relationships: tightened INSERT and DELETE, worker access, transition trigger.
-- ---------------------------------------------------------------------------
CREATE POLICY partner_relationships_insert_guard ON partner_relationships
    AS RESTRICTIVE
    FOR INSERT
    WITH CHECK (
        current_account_role() = 'admin'
        OR (account_id = current_account_id() AND status = 'invited' AND accepted_at IS NULL)
    );

CREATE POLICY partner_relationships_delete_guard ON partner_relationships
    AS RESTRICTIVE
    FOR DELETE
    USING (current_account_role() = 'admin');

CREATE POLICY partner_relationships_system_read ON partner_relationships
    FOR SELECT
    USING (rls_is_system());

CREATE POLICY partner_relationships_system_update ON partner_relationships
    FOR UPDATE
    USING (rls_is_system())
    WITH CHECK (rls_is_system());

-- Transition rules for application-role sessions. Admins, and sessions without any actor context (the
-- migration owner, SECURITY DEFINER functions called without context), are not restricted.
CREATE OR REPLACE FUNCTION fn_partner_relationships_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_me   bigint := public.current_account_id();
    v_role text   := public.current_account_role();
BEGIN
    IF v_role = 'admin' OR (v_me IS NULL AND v_role IS DISTINCT FROM 'system') THEN
        RETURN NEW;
    END IF;
    -- A row moved out of the actor's reach is refused by the policy's WITH CHECK (row-level security
    -- error); everything else about the parties is refused here.
    IF v_me IS NOT NULL AND v_me NOT IN (NEW.account_id, NEW.partner_account_id) THEN
        RETURN NEW;
    END IF;
    IF NEW.account_id <> OLD.account_id OR NEW.partner_account_id <> OLD.partner_account_id
       OR NEW.public_id <> OLD.public_id OR NEW.invited_at <> OLD.invited_at THEN
        RAISE EXCEPTION 'partner relationship: parties, public id and invitation time cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = OLD.status THEN
        IF NEW.accepted_at IS DISTINCT FROM OLD.accepted_at THEN
            RAISE EXCEPTION 'partner relationship: accepted_at changes only with acceptance'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    IF v_me IS NULL THEN
        -- The worker only expires invitations.
        IF OLD.status = 'invited' AND NEW.status = 'expired' THEN
            RETURN NEW;
        END IF;
    ELSIF OLD.status = 'invited' AND NEW.status = 'active' THEN
        IF v_me = NEW.partner_account_id AND NEW.accepted_at IS NOT NULL THEN
            RETURN NEW;
        END IF;
    ELSIF OLD.status IN ('invited', 'active') AND NEW.status = 'revoked' THEN
        IF NEW.accepted_at IS NOT DISTINCT FROM OLD.accepted_at THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'partner relationship: % -> % is not allowed for this account', OLD.status, NEW.status
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

COMMENT ON FUNCTION fn_partner_relationships_guard() IS
    'BEFORE UPDATE on partner_relationships: only the invited party accepts, either party revokes, the system expires; parties are immutable.';

REVOKE ALL ON FUNCTION fn_partner_relationships_guard() FROM PUBLIC;

CREATE TRIGGER trg_partner_relationships_guard
    BEFORE UPDATE ON partner_relationships
    FOR EACH ROW EXECUTE FUNCTION fn_partner_relationships_guard();

-- Keeps the invitation of a relationship in step with it (the invitee cannot update invitations itself).
CREATE OR REPLACE FUNCTION fn_partner_relationships_sync_invitation()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE public.partner_invitations i
           SET status = CASE NEW.status WHEN 'active' THEN 'accepted' WHEN 'revoked' THEN 'revoked' ELSE 'expired' END,
               accepted_at = CASE WHEN NEW.status = 'active' THEN NEW.accepted_at ELSE i.accepted_at END
         WHERE i.relationship_id = NEW.id
           AND i.status = 'pending'
           AND NEW.status IN ('active', 'revoked', 'expired');
    END IF;
    RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION fn_partner_relationships_sync_invitation() FROM PUBLIC;

CREATE TRIGGER trg_partner_relationships_sync_invitation
    AFTER UPDATE ON partner_relationships
    FOR EACH ROW EXECUTE FUNCTION fn_partner_relationships_sync_invitation();

-- ---------------------------------------------------------------------------
-- Internal: convert one pending invitation into an 'invited' relationship with p_partner_id.
-- Returns the relationship id, or NULL when the pair already has a live (invited/active) relationship,
-- in which case the invitation is linked to that one. Not granted to the application role.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION partner_link_invitation(p_invitation_id bigint, p_partner_id bigint, p_now timestamptz)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_inv      public.partner_invitations%ROWTYPE;
    v_existing public.partner_relationships%ROWTYPE;
    v_id       bigint;
BEGIN
    SELECT * INTO v_inv FROM public.partner_invitations WHERE id = p_invitation_id FOR UPDATE;
    IF NOT FOUND OR v_inv.status <> 'pending' OR v_inv.relationship_id IS NOT NULL
       OR v_inv.inviter_account_id = p_partner_id THEN
        RETURN NULL;
    END IF;

    SELECT * INTO v_existing
      FROM public.partner_relationships r
     WHERE LEAST(r.account_id, r.partner_account_id) = LEAST(v_inv.inviter_account_id, p_partner_id)
       AND GREATEST(r.account_id, r.partner_account_id) = GREATEST(v_inv.inviter_account_id, p_partner_id)
     FOR UPDATE;
    IF FOUND THEN
        IF v_existing.status IN ('invited', 'active') THEN
            UPDATE public.partner_invitations SET relationship_id = v_existing.id WHERE id = v_inv.id;
            RETURN NULL;
        END IF;
        -- Revoked or expired: replaced by the new invitation (audit_log keeps the old row).
        DELETE FROM public.partner_relationships WHERE id = v_existing.id;
    END IF;

    INSERT INTO public.partner_relationships (public_id, account_id, partner_account_id, status, invited_at)
    VALUES (v_inv.public_id, v_inv.inviter_account_id, p_partner_id, 'invited', v_inv.created_at)
    RETURNING id INTO v_id;
    UPDATE public.partner_invitations SET relationship_id = v_id WHERE id = v_inv.id;
    RETURN v_id;
END;
$$;

REVOKE ALL ON FUNCTION partner_link_invitation(bigint, bigint, timestamptz) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- partner_invite: the current account invites p_email. Outcomes (the caller answers 'invited' the same
-- way whether or not the address has an account):
--   invited            the invitation was created (and converted if the address has a verified account)
--   self               the address is the inviter's own
--   duplicate          a pending invitation from this inviter to this address exists
--   already_partnered  a live (invited/active) relationship with the address's account exists; the
--                      inviter already knows that address from their partner list
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION partner_invite(
    p_email      text,
    p_token_hash bytea,
    p_now        timestamptz,
    p_expires_at timestamptz
)
RETURNS TABLE (outcome text, invitation_public_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_me      bigint := public.current_account_id();
    v_me_mail text;
    v_target  public.accounts%ROWTYPE;
    v_inv_id  bigint;
    v_pub     uuid;
BEGIN
    IF v_me IS NULL THEN
        RAISE EXCEPTION 'partner_invite: no current account' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_email IS NULL OR p_email <> lower(btrim(p_email)) THEN
        RAISE EXCEPTION 'partner_invite: e-mail address is not normalized' USING ERRCODE = 'check_violation';
    END IF;

    SELECT lower(a.email) INTO v_me_mail FROM public.accounts a WHERE a.id = v_me;
    IF v_me_mail = p_email THEN
        outcome := 'self';
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT * INTO v_target FROM public.accounts a WHERE lower(a.email) = p_email;
    IF FOUND AND EXISTS (
        SELECT 1 FROM public.partner_relationships r
         WHERE LEAST(r.account_id, r.partner_account_id) = LEAST(v_me, v_target.id)
           AND GREATEST(r.account_id, r.partner_account_id) = GREATEST(v_me, v_target.id)
           AND r.status IN ('invited', 'active')
    ) THEN
        outcome := 'already_partnered';
        RETURN NEXT;
        RETURN;
    END IF;

    INSERT INTO public.partner_invitations (inviter_account_id, email, token_hash, created_at, expires_at)
    VALUES (v_me, p_email, p_token_hash, p_now, p_expires_at)
    ON CONFLICT (inviter_account_id, email) WHERE status = 'pending' DO NOTHING
    RETURNING id, public_id INTO v_inv_id, v_pub;
    IF v_inv_id IS NULL THEN
        outcome := 'duplicate';
        RETURN NEXT;
        RETURN;
    END IF;

    IF v_target.id IS NOT NULL AND v_target.email_verified THEN
        PERFORM public.partner_link_invitation(v_inv_id, v_target.id, p_now);
    END IF;

    outcome := 'invited';
    invitation_public_id := v_pub;
    RETURN NEXT;
END;
$$;

-- ---------------------------------------------------------------------------
-- partner_claim_invitations: converts the pending, unexpired invitations addressed to the current
-- account's address, if that address is verified (an unverified address proves nothing). Returns how many
-- relationships were created.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION partner_claim_invitations(p_now timestamptz)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_me      bigint := public.current_account_id();
    v_account public.accounts%ROWTYPE;
    v_inv     record;
    v_count   integer := 0;
BEGIN
    IF v_me IS NULL THEN
        RETURN 0;
    END IF;
    SELECT * INTO v_account FROM public.accounts WHERE id = v_me;
    IF NOT FOUND OR NOT v_account.email_verified THEN
        RETURN 0;
    END IF;
    FOR v_inv IN
        SELECT i.id FROM public.partner_invitations i
         WHERE i.email = lower(v_account.email)
           AND i.status = 'pending'
           AND i.relationship_id IS NULL
           AND i.expires_at > p_now
           AND i.inviter_account_id <> v_me
         ORDER BY i.id
    LOOP
        IF public.partner_link_invitation(v_inv.id, v_me, p_now) IS NOT NULL THEN
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END;
$$;

-- ---------------------------------------------------------------------------
-- partner_accept_invitation_token: whoever holds the mailed token (signed in as any account: the token
-- proves control of the mailbox) becomes the inviter's partner, at once ('active'). Outcomes:
--   accepted  (relationship_public_id set)
--   invalid   unknown token, revoked or already used invitation
--   expired   the invitation expired (p_now, the API's clock)
--   self      the inviter presented their own token
--   taken     the invitation was converted for another account, or the pair has a live relationship in
--             the other direction
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION partner_accept_invitation_token(p_token_hash bytea, p_now timestamptz)
RETURNS TABLE (outcome text, relationship_public_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_me  bigint := public.current_account_id();
    v_inv public.partner_invitations%ROWTYPE;
    v_rel public.partner_relationships%ROWTYPE;
    v_id  bigint;
BEGIN
    IF v_me IS NULL THEN
        RAISE EXCEPTION 'partner_accept_invitation_token: no current account' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO v_inv FROM public.partner_invitations i WHERE i.token_hash = p_token_hash FOR UPDATE;
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
    IF v_inv.inviter_account_id = v_me THEN
        outcome := 'self';
        RETURN NEXT;
        RETURN;
    END IF;

    IF v_inv.relationship_id IS NULL THEN
        PERFORM public.partner_link_invitation(v_inv.id, v_me, p_now);
        SELECT * INTO v_inv FROM public.partner_invitations i WHERE i.id = v_inv.id;
    END IF;
    SELECT * INTO v_rel FROM public.partner_relationships r WHERE r.id = v_inv.relationship_id FOR UPDATE;
    IF NOT FOUND OR v_rel.partner_account_id <> v_me OR v_rel.account_id <> v_inv.inviter_account_id THEN
        outcome := 'taken';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_rel.status = 'invited' THEN
        -- Runs with the caller's context: the guard trigger sees the invited party accepting.
        UPDATE public.partner_relationships SET status = 'active', accepted_at = p_now WHERE id = v_rel.id;
    END IF;
    UPDATE public.partner_invitations
       SET status = 'accepted', accepted_at = coalesce(accepted_at, p_now)
     WHERE id = v_inv.id;
    outcome := 'accepted';
    relationship_public_id := v_rel.public_id;
    RETURN NEXT;
END;
$$;

-- ---------------------------------------------------------------------------
-- partner_counterparts: for each relationship of the current account, the other party's public profile.
-- (accounts' own policy shows an account only its own row.) The service decides what to show: the
-- inviter does not see who is behind an address before the invitation is accepted.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION partner_counterparts()
RETURNS TABLE (
    relationship_id           bigint,
    counterpart_account_id    bigint,
    counterpart_public_id     uuid,
    counterpart_email         text,
    counterpart_display_name  text
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT r.id, a.id, a.public_id, a.email::text, a.display_name::text
      FROM public.partner_relationships r
      JOIN public.accounts a
        ON a.id = CASE WHEN r.account_id = public.current_account_id() THEN r.partner_account_id ELSE r.account_id END
     WHERE public.current_account_id() IN (r.account_id, r.partner_account_id)
$$;

COMMENT ON FUNCTION partner_invite(text, bytea, timestamptz, timestamptz) IS
    'Invite an e-mail address as the current account''s accountability partner (see migration 0017).';
COMMENT ON FUNCTION partner_claim_invitations(timestamptz) IS
    'Convert pending invitations addressed to the current account''s verified address into relationships.';
COMMENT ON FUNCTION partner_accept_invitation_token(bytea, timestamptz) IS
    'Accept a partner invitation by its mailed token, as the current account.';
COMMENT ON FUNCTION partner_counterparts() IS
    'Public profile of the other party of each relationship of the current account.';

REVOKE ALL ON FUNCTION rls_is_partner_relationship_party(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION partner_invite(text, bytea, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION partner_claim_invitations(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION partner_accept_invitation_token(bytea, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION partner_counterparts() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    rls_is_system(),
    rls_is_partner_relationship_party(bigint),
    partner_invite(text, bytea, timestamptz, timestamptz),
    partner_claim_invitations(timestamptz),
    partner_accept_invitation_token(bytea, timestamptz),
    partner_counterparts()
TO betblocker_api;
