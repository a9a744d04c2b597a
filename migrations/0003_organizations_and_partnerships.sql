-- 0003_organizations_and_partnerships.sql
--
-- Creates: partner_relationships, organizations and organization_members
-- (spec 5.2) with their constraints, indexes and the organizations updated_at
-- trigger.
--
-- Why: accountability partners see a user's protection status and approve
-- unenrollment; organizations (family, therapy program, court, enterprise)
-- group authority accounts. partner_relationships gets row-level security in
-- 0011; organizations and organization_members are checked by the
-- application (spec section 6).

-- ---------------------------------------------------------------------------
-- partner_relationships
-- ---------------------------------------------------------------------------
CREATE TABLE partner_relationships (
    id                  BIGSERIAL      PRIMARY KEY,
    -- The protected user who invited the partner.
    account_id          BIGINT         NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    partner_account_id  BIGINT         NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status              partner_status NOT NULL DEFAULT 'invited',
    invited_at          TIMESTAMPTZ    NOT NULL DEFAULT now(),
    accepted_at         TIMESTAMPTZ,
    -- A user cannot partner with themselves.
    CONSTRAINT chk_partner_not_self CHECK (account_id <> partner_account_id)
);

-- At most one relationship per unordered pair of accounts.
CREATE UNIQUE INDEX uq_partner_pair ON partner_relationships (
    LEAST(account_id, partner_account_id),
    GREATEST(account_id, partner_account_id)
);

CREATE INDEX idx_partner_relationships_account ON partner_relationships (account_id);
CREATE INDEX idx_partner_relationships_partner ON partner_relationships (partner_account_id);

-- Pending invitations addressed to a partner.
CREATE INDEX idx_partner_relationships_pending
    ON partner_relationships (partner_account_id, invited_at DESC)
    WHERE status = 'invited';

COMMENT ON TABLE partner_relationships IS 'Accountability partnerships between a protected account and a partner account.';

-- ---------------------------------------------------------------------------
-- organizations
-- ---------------------------------------------------------------------------
CREATE TABLE organizations (
    id          BIGSERIAL    PRIMARY KEY,
    public_id   UUID         NOT NULL DEFAULT gen_random_uuid(),
    name        VARCHAR(200) NOT NULL,
    type        org_type     NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT uq_organizations_public_id UNIQUE (public_id)
);

CREATE INDEX idx_organizations_type ON organizations (type);

CREATE TRIGGER trg_organizations_updated_at
    BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE organizations IS 'Families, therapy programs, courts and enterprises that enroll devices.';

-- ---------------------------------------------------------------------------
-- organization_members
-- ---------------------------------------------------------------------------
CREATE TABLE organization_members (
    id               BIGSERIAL       PRIMARY KEY,
    organization_id  BIGINT          NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id       BIGINT          NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role             org_member_role NOT NULL DEFAULT 'member',
    joined_at        TIMESTAMPTZ     NOT NULL DEFAULT now()
);

-- One membership per account per organization.
CREATE UNIQUE INDEX uq_org_member ON organization_members (organization_id, account_id);

-- Organizations of an account.
CREATE INDEX idx_org_members_account ON organization_members (account_id);

-- Members of an organization by role (dashboards).
CREATE INDEX idx_org_members_org_role ON organization_members (organization_id, role);

COMMENT ON TABLE organization_members IS 'Membership of accounts in organizations.';
