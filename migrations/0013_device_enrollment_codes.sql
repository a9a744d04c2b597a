-- 0013_device_enrollment_codes.sql
--
-- Creates: device_enrollment_codes (one-time codes an owner creates and the
-- agent redeems at POST /api/v1/device/register), its row-level security
-- (own rows, or admin), and the SECURITY DEFINER function
-- device_redeem_enrollment_code(code_hash, now) that redeems a code before
-- the API knows which account it belongs to.
--
-- Why: registration happens on a device that has no credentials yet; the
-- owner proves the device is theirs by typing a short code shown in their
-- dashboard. Only the SHA-256 of the code is stored (a database leak does not
-- leak usable codes); codes live 15 minutes by default and work once.
--
-- Redeeming: the agent has no account session, so RLS (correctly) hides every
-- code. device_redeem_enrollment_code does exactly one step: it marks an
-- unused, unexpired code used (one UPDATE, so two agents racing with one code
-- cannot both win: the second waits on the row lock and then finds used_at
-- set) and returns the owner's account id. Everything after that (device and
-- certificate rows, used_by_device_id) runs in the same transaction as that
-- account under RLS, so a failure later in registration rolls the redemption
-- back and the code stays usable.

CREATE TABLE device_enrollment_codes (
    id                 BIGSERIAL    PRIMARY KEY,
    -- The account that will own the device.
    account_id         BIGINT       NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- SHA-256 of the normalized code (upper-case, no separators).
    code_hash          BYTEA        NOT NULL,
    created_at         TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expires_at         TIMESTAMPTZ  NOT NULL,
    used_at            TIMESTAMPTZ,
    -- The device registered with the code; NULL while unused (or once that
    -- device is deleted).
    used_by_device_id  BIGINT       REFERENCES devices (id) ON DELETE SET NULL,
    CONSTRAINT uq_device_enrollment_codes_hash UNIQUE (code_hash),
    CONSTRAINT chk_device_enrollment_code_hash CHECK (octet_length(code_hash) = 32),
    CONSTRAINT chk_device_enrollment_code_expiry CHECK (expires_at > created_at)
);

-- An account's codes, newest first (dashboard, per-account limits).
CREATE INDEX idx_device_enrollment_codes_account ON device_enrollment_codes (account_id, created_at DESC);

-- Clean-up of expired, unused codes (worker).
CREATE INDEX idx_device_enrollment_codes_expires ON device_enrollment_codes (expires_at) WHERE used_at IS NULL;

COMMENT ON TABLE device_enrollment_codes IS
    'Addition: one-time device enrollment codes (SHA-256 only), redeemed by the agent at registration.';

ALTER TABLE device_enrollment_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_enrollment_codes FORCE ROW LEVEL SECURITY;

CREATE POLICY device_enrollment_codes_self ON device_enrollment_codes
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
-- device_redeem_enrollment_code: marks an unused, unexpired code used at p_now
-- and returns (code_id, account_id); no row for an unknown, used or expired
-- code (the caller does not learn which). p_now is the API's clock, the one
-- that computed expires_at.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION device_redeem_enrollment_code(p_code_hash bytea, p_now timestamptz)
RETURNS TABLE (code_id bigint, account_id bigint)
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    UPDATE public.device_enrollment_codes c
       SET used_at = p_now
     WHERE c.code_hash = p_code_hash
       AND c.used_at IS NULL
       AND c.expires_at > p_now
    RETURNING c.id, c.account_id
$$;

COMMENT ON FUNCTION device_redeem_enrollment_code(bytea, timestamptz) IS
    'Pre-authentication: use a one-time device enrollment code; returns its id and owner account.';

REVOKE ALL ON FUNCTION device_redeem_enrollment_code(bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION device_redeem_enrollment_code(bytea, timestamptz) TO betblocker_api;
