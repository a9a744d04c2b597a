-- 0002_accounts_and_auth.sql
--
-- Creates: the shared updated_at trigger function fn_set_updated_at (spec
-- appendix A), the accounts table and the refresh_tokens table (spec 5.1),
-- with their constraints, indexes and updated_at trigger.
--
-- Why: accounts is the root of every tenant-scoped row; refresh tokens hold
-- the SHA-256 of opaque, rotated refresh tokens (never the token itself).
-- Row-level security for both tables is enabled in 0011, audit triggers are
-- attached in 0009.

-- ---------------------------------------------------------------------------
-- updated_at maintenance (spec appendix A). Attached BEFORE UPDATE to every
-- table that has an updated_at column, in the migration creating that table.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fn_set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION fn_set_updated_at() IS
    'BEFORE UPDATE trigger: sets NEW.updated_at to the transaction timestamp.';

-- ---------------------------------------------------------------------------
-- accounts
-- ---------------------------------------------------------------------------
CREATE TABLE accounts (
    id              BIGSERIAL    PRIMARY KEY,
    -- Used in all API responses and URLs; the bigint id is internal only.
    public_id       UUID         NOT NULL DEFAULT gen_random_uuid(),
    email           VARCHAR(255) NOT NULL,
    -- Argon2id hash (PHC string).
    password_hash   VARCHAR(255) NOT NULL,
    role            account_role NOT NULL DEFAULT 'user',
    email_verified  BOOLEAN      NOT NULL DEFAULT FALSE,
    display_name    VARCHAR(100),
    created_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT uq_accounts_public_id UNIQUE (public_id),
    CONSTRAINT uq_accounts_email UNIQUE (email)
);

-- Addition (spec silent): uq_accounts_email only rejects byte-identical
-- addresses, so "Alice@x.org" and "alice@x.org" could become two accounts and
-- a login lookup by lower(email) would be ambiguous. This index makes e-mail
-- addresses unique case-insensitively without forcing a stored spelling.
CREATE UNIQUE INDEX uq_accounts_email_lower ON accounts (lower(email));

CREATE INDEX idx_accounts_role ON accounts (role);
CREATE INDEX idx_accounts_created_at ON accounts (created_at DESC);

CREATE TRIGGER trg_accounts_updated_at
    BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE accounts IS 'Platform accounts: users, accountability partners, authorities and admins.';

-- ---------------------------------------------------------------------------
-- refresh_tokens
-- ---------------------------------------------------------------------------
CREATE TABLE refresh_tokens (
    id           BIGSERIAL    PRIMARY KEY,
    account_id   BIGINT       NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- SHA-256 of the opaque token handed to the client.
    token_hash   BYTEA        NOT NULL,
    -- User-Agent or device description.
    device_info  VARCHAR(500),
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ  NOT NULL,
    -- NULL = usable, set = revoked (rotation or logout).
    revoked_at   TIMESTAMPTZ,
    CONSTRAINT uq_refresh_tokens_hash UNIQUE (token_hash)
);

-- Tokens of an account (revocation of a whole family).
CREATE INDEX idx_refresh_tokens_account_id ON refresh_tokens (account_id);

-- Cleanup job: expired, not yet revoked tokens.
CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens (expires_at) WHERE revoked_at IS NULL;

COMMENT ON TABLE refresh_tokens IS 'Opaque refresh tokens, stored only as SHA-256; rotated on every use.';
