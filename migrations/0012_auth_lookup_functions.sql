-- 0012_auth_lookup_functions.sql
--
-- Creates: refresh token families (refresh_tokens.family_id, replaced_by_id),
-- the email_verification_tokens table (with row-level security), and the
-- narrow SECURITY DEFINER functions that the API needs before it knows who
-- the caller is:
--   auth_register_account(email, password_hash, display_name, token_hash, expires_at)
--   auth_login_lookup(email)
--   auth_refresh_token_lookup(token_hash)
--   auth_consume_email_verification(token_hash, now)
-- plus audit_security_event(...) for security events that no table trigger
-- sees (refresh token reuse).
--
-- Why: the API connects as betblocker_api (NOSUPERUSER NOBYPASSRLS) and every
-- query runs under the RLS policies of 0011, keyed on app.current_account_id.
-- Registration, login, refresh and e-mail verification happen before there is
-- an account id, so the policies (correctly) hide every row. Instead of giving
-- the application role a blanket bypass, each pre-authentication step is one
-- function that does exactly that step and returns only the columns it needs.
-- Once the caller is known, everything else runs as that account under RLS.
--
-- Function rules (same as the RLS helpers of 0011): SECURITY DEFINER owned by
-- the migration owner, SET search_path = public, pg_catalog, pg_temp (a
-- temporary table cannot shadow a real one), every object schema-qualified,
-- REVOKE ALL FROM PUBLIC, EXECUTE granted to betblocker_api only.

-- ---------------------------------------------------------------------------
-- Refresh token families (addition; the spec has no column for it).
-- Every login starts a family; each rotation inserts the successor in the same
-- family and points the old row at it (replaced_by_id). Presenting a token that
-- was already rotated means two parties hold the family: the whole family is
-- revoked (RFC 9700 section 4.14.2, refresh token rotation).
-- The volatile default rewrites the table once; existing rows each become a
-- family of their own, which is what they were.
-- ---------------------------------------------------------------------------
ALTER TABLE refresh_tokens
    ADD COLUMN family_id UUID NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN replaced_by_id BIGINT REFERENCES refresh_tokens (id) ON DELETE SET NULL;

-- Revoking a family (reuse, logout).
CREATE INDEX idx_refresh_tokens_family_id ON refresh_tokens (family_id);

COMMENT ON COLUMN refresh_tokens.family_id IS 'Login session: every rotation of one login shares it; reuse revokes the family.';
COMMENT ON COLUMN refresh_tokens.replaced_by_id IS 'The token issued when this one was rotated; NULL while current or when revoked by logout.';

-- ---------------------------------------------------------------------------
-- email_verification_tokens (addition)
-- ---------------------------------------------------------------------------
CREATE TABLE email_verification_tokens (
    id          BIGSERIAL    PRIMARY KEY,
    account_id  BIGINT       NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- SHA-256 of the random token mailed to the user (never the token itself).
    token_hash  BYTEA        NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ  NOT NULL,
    -- NULL = unused; set once, when the address is confirmed.
    used_at     TIMESTAMPTZ,
    CONSTRAINT uq_email_verification_tokens_hash UNIQUE (token_hash),
    CONSTRAINT chk_email_verification_token_hash CHECK (octet_length(token_hash) = 32)
);

CREATE INDEX idx_email_verification_tokens_account_id ON email_verification_tokens (account_id);

COMMENT ON TABLE email_verification_tokens IS 'One-time e-mail confirmation tokens, stored only as SHA-256.';

-- Tenant-scoped like refresh_tokens: own rows, or admin.
ALTER TABLE email_verification_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_verification_tokens FORCE ROW LEVEL SECURITY;

CREATE POLICY email_verification_tokens_self ON email_verification_tokens
    FOR ALL
    USING (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
    )
    WITH CHECK (
        account_id = current_account_id()
        OR current_account_role() = 'admin'
    );

-- ---------------------------------------------------------------------------
-- auth_register_account: creates a 'user' account and its e-mail verification
-- token. Returns one row (account_id, public_id) when the account was created,
-- no row when the address is taken (case-insensitively): the caller answers
-- both cases alike so that registration does not reveal which addresses exist.
-- The role is fixed here: a caller cannot register an admin.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION auth_register_account(
    p_email                   text,
    p_password_hash           text,
    p_display_name            text,
    p_verification_token_hash bytea,
    p_verification_expires_at timestamptz
)
RETURNS TABLE (account_id bigint, public_id uuid)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_id        bigint;
    v_public_id uuid;
BEGIN
    -- The service normalizes; these guard against a bug storing something else.
    IF p_email IS NULL OR p_email <> lower(btrim(p_email)) OR length(p_email) > 254 OR position('@' IN p_email) < 2 THEN
        RAISE EXCEPTION 'auth_register_account: e-mail address is not normalized' USING ERRCODE = 'check_violation';
    END IF;
    IF p_password_hash IS NULL OR p_password_hash NOT LIKE '$argon2id$%' THEN
        RAISE EXCEPTION 'auth_register_account: password_hash must be an Argon2id PHC string' USING ERRCODE = 'check_violation';
    END IF;

    INSERT INTO public.accounts AS a (email, password_hash, role, display_name)
    VALUES (p_email, p_password_hash, 'user', p_display_name)
    ON CONFLICT DO NOTHING
    RETURNING a.id, a.public_id INTO v_id, v_public_id;

    IF v_id IS NULL THEN
        RETURN; -- address taken
    END IF;

    INSERT INTO public.email_verification_tokens (account_id, token_hash, expires_at)
    VALUES (v_id, p_verification_token_hash, p_verification_expires_at);

    account_id := v_id;
    public_id := v_public_id;
    RETURN NEXT;
END;
$$;

-- ---------------------------------------------------------------------------
-- auth_login_lookup: what a password check needs, nothing else.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION auth_login_lookup(p_email text)
RETURNS TABLE (account_id bigint, password_hash text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT a.id, a.password_hash::text
      FROM public.accounts a
     WHERE lower(a.email) = lower(btrim(p_email))
$$;

-- ---------------------------------------------------------------------------
-- auth_refresh_token_lookup: the state of a presented refresh token (by its
-- SHA-256), so the service can tell a current token from a rotated (reused)
-- one, an expired one and an unknown one. Everything after the lookup runs as
-- the token's account under RLS.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION auth_refresh_token_lookup(p_token_hash bytea)
RETURNS TABLE (
    token_id       bigint,
    account_id     bigint,
    family_id      uuid,
    expires_at     timestamptz,
    revoked_at     timestamptz,
    replaced_by_id bigint
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT t.id, t.account_id, t.family_id, t.expires_at, t.revoked_at, t.replaced_by_id
      FROM public.refresh_tokens t
     WHERE t.token_hash = p_token_hash
$$;

-- ---------------------------------------------------------------------------
-- auth_consume_email_verification: marks an unused, unexpired token used and
-- the account's address verified, atomically. No row: unknown, used or
-- expired token (the caller does not learn which). p_now is the API's clock,
-- the same one that computed expires_at at registration.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION auth_consume_email_verification(p_token_hash bytea, p_now timestamptz)
RETURNS TABLE (account_id bigint)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_account_id bigint;
BEGIN
    UPDATE public.email_verification_tokens t
       SET used_at = p_now
     WHERE t.token_hash = p_token_hash
       AND t.used_at IS NULL
       AND t.expires_at > p_now
    RETURNING t.account_id INTO v_account_id;

    IF v_account_id IS NULL THEN
        RETURN;
    END IF;

    UPDATE public.accounts a
       SET email_verified = true
     WHERE a.id = v_account_id
       AND NOT a.email_verified;

    account_id := v_account_id;
    RETURN NEXT;
END;
$$;

-- ---------------------------------------------------------------------------
-- audit_security_event: appends a security event that no table trigger sees
-- to audit_log, with the actor and client IP of the transaction context (same
-- rules as fn_audit_trigger). Representation: table_name/row_id name the row
-- concerned, action the kind of change made to it, new_values carries
-- {"event": <name>, ...details}. Example: refresh token reuse is
-- ('refresh_token_reuse', 'refresh_tokens', <reused token id>, 'UPDATE',
-- {"family_id": ..., "revoked_count": n}).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION audit_security_event(
    p_event      text,
    p_table_name text,
    p_row_id     bigint,
    p_action     audit_action,
    p_details    jsonb
)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_actor_text text := btrim(current_setting('app.current_account_id', true));
    v_ip_text    text := btrim(current_setting('app.current_ip', true));
    v_actor      bigint;
    v_ip         inet;
    v_id         bigint;
BEGIN
    IF p_event IS NULL OR p_event !~ '^[a-z][a-z0-9_]{0,63}$' THEN
        RAISE EXCEPTION 'audit_security_event: invalid event name' USING ERRCODE = 'check_violation';
    END IF;
    IF p_table_name IS NULL OR p_table_name !~ '^[a-z][a-z0-9_]{0,62}$' OR p_row_id IS NULL OR p_action IS NULL THEN
        RAISE EXCEPTION 'audit_security_event: table_name, row_id and action are required' USING ERRCODE = 'check_violation';
    END IF;
    IF p_details IS NOT NULL AND jsonb_typeof(p_details) <> 'object' THEN
        RAISE EXCEPTION 'audit_security_event: details must be a JSON object' USING ERRCODE = 'check_violation';
    END IF;

    IF v_actor_text ~ '^[0-9]{1,18}$' THEN
        v_actor := v_actor_text::bigint;
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

    INSERT INTO public.audit_log (actor_account_id, table_name, row_id, action, old_values, new_values, client_ip)
    VALUES (v_actor, p_table_name, p_row_id, p_action, NULL,
            coalesce(p_details, '{}'::jsonb) || jsonb_build_object('event', p_event), v_ip)
    RETURNING id INTO v_id;
    RETURN v_id;
END;
$$;

COMMENT ON FUNCTION auth_register_account(text, text, text, bytea, timestamptz) IS
    'Pre-authentication: create a user account and its e-mail verification token; no row when the address is taken.';
COMMENT ON FUNCTION auth_login_lookup(text) IS
    'Pre-authentication: account id and password hash for an e-mail address (case-insensitive).';
COMMENT ON FUNCTION auth_refresh_token_lookup(bytea) IS
    'Pre-authentication: state of a refresh token by its SHA-256.';
COMMENT ON FUNCTION auth_consume_email_verification(bytea, timestamptz) IS
    'Pre-authentication: use an e-mail verification token and mark the address verified.';
COMMENT ON FUNCTION audit_security_event(text, text, bigint, audit_action, jsonb) IS
    'Append a security event (e.g. refresh token reuse) to audit_log with the transaction''s actor and client IP.';

REVOKE ALL ON FUNCTION auth_register_account(text, text, text, bytea, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_login_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_refresh_token_lookup(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_consume_email_verification(bytea, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_security_event(text, text, bigint, audit_action, jsonb) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    auth_register_account(text, text, text, bytea, timestamptz),
    auth_login_lookup(text),
    auth_refresh_token_lookup(bytea),
    auth_consume_email_verification(bytea, timestamptz),
    audit_security_event(text, text, bigint, audit_action, jsonb)
TO betblocker_api;
