-- 0019_enrollment_lifecycle.sql
--
-- Creates: enrollments.organization_id (the organization of an authority-tier enrollment) with its index
-- and checks; the unique index uq_enrollments_device_current; enrollment_unenroll_requests.public_id; the
-- enrollment_config_change_requests table; and the notifications outbox.
--
-- Why:
-- * An authority-tier enrollment is made by an admin of a court or therapy organization; any admin of
--   that organization decides its unenrollment, so the organization is recorded on the enrollment.
--   RESTRICT: an organization with enrollments on record cannot be deleted (court programs need the trail).
-- * uq_enrollments_device_active (spec) allows a second enrollment while the first is 'unenrolling' or
--   'suspended'; a device must have at most one enrollment that is not 'unenrolled'.
-- * The unenrollment policy check: an enrollment's stored unenrollment_policy.approval_required_by, when
--   present, is its tier (the tier decides who approves; the JSONB cannot say otherwise).
-- * Unenroll requests get a public id for URLs (/api/v1/unenroll-requests/{id}).
-- * Loosening an enrollment's configuration needs the same approval as unenrolling:
--   enrollment_config_change_requests mirrors enrollment_unenroll_requests (same columns, same status
--   enum and state machine) plus `changes`, the list of field changes to apply when approved:
--   [{"field": "protection_config.dns.block_doh", "old_value": true, "new_value": false}, ...].
-- * notifications is an outbox: the API enqueues, the worker delivers (e-mail/push/webhook) and sets
--   sent_at. account_id NULL means the recipient is only known by address (payload.email), e.g. a partner
--   invitation, which must not reveal whether the address has an account. Invitation payloads carry the
--   mailed token: the worker should remove payload.token once the message is sent.
-- Row-level security for the new tables, and the guards of the lifecycle, are in 0020.

-- ---------------------------------------------------------------------------
-- enrollments.organization_id
-- ---------------------------------------------------------------------------
ALTER TABLE enrollments
    ADD COLUMN organization_id BIGINT REFERENCES organizations (id) ON DELETE RESTRICT;

ALTER TABLE enrollments
    ADD CONSTRAINT chk_enrollments_organization_tier CHECK (organization_id IS NULL OR tier = 'authority');

ALTER TABLE enrollments
    ADD CONSTRAINT chk_enrollments_policy_tier
    CHECK (coalesce(unenrollment_policy ->> 'approval_required_by', tier::text) = tier::text);

-- Enrollments of an organization (authority dashboards, org-admin visibility).
CREATE INDEX idx_enrollments_organization ON enrollments (organization_id) WHERE organization_id IS NOT NULL;

-- At most one enrollment per device that is not finished (active, suspended or unenrolling).
CREATE UNIQUE INDEX uq_enrollments_device_current ON enrollments (device_id) WHERE status <> 'unenrolled';

COMMENT ON COLUMN enrollments.organization_id IS
    'Authority tier: the court/therapy organization whose admins decide unenrollment; NULL otherwise.';

-- ---------------------------------------------------------------------------
-- enrollment_unenroll_requests.public_id
-- ---------------------------------------------------------------------------
ALTER TABLE enrollment_unenroll_requests ADD COLUMN public_id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE enrollment_unenroll_requests
    ADD CONSTRAINT uq_unenroll_requests_public_id UNIQUE (public_id);

-- ---------------------------------------------------------------------------
-- enrollment_config_change_requests
-- ---------------------------------------------------------------------------
CREATE TABLE enrollment_config_change_requests (
    id                            BIGSERIAL               PRIMARY KEY,
    public_id                     UUID                    NOT NULL DEFAULT gen_random_uuid(),
    enrollment_id                 BIGINT                  NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    requested_by_account_id       BIGINT                  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    requested_at                  TIMESTAMPTZ             NOT NULL DEFAULT now(),
    -- Partner / authority that must decide (NULL for the self tier: the delay decides).
    required_approver_account_id  BIGINT                  REFERENCES accounts (id) ON DELETE SET NULL,
    -- Who decided (approved or denied), and when; for the self tier, who completed it after the delay.
    approved_by_account_id        BIGINT                  REFERENCES accounts (id) ON DELETE SET NULL,
    approved_at                   TIMESTAMPTZ,
    -- Self tier: the change may take effect after this instant.
    delay_until                   TIMESTAMPTZ,
    status                        unenroll_request_status NOT NULL DEFAULT 'pending',
    -- The loosening field changes to apply: [{field, old_value, new_value}, ...] (fields as in events 9.4).
    changes                       JSONB                   NOT NULL,
    CONSTRAINT uq_config_change_requests_public_id UNIQUE (public_id),
    CONSTRAINT chk_config_change_requests_changes
        CHECK (jsonb_typeof(changes) = 'array' AND jsonb_array_length(changes) > 0)
);

-- Only one pending configuration change per enrollment at a time.
CREATE UNIQUE INDEX uq_config_change_request_pending
    ON enrollment_config_change_requests (enrollment_id) WHERE status = 'pending';

-- Requests awaiting a given approver.
CREATE INDEX idx_config_change_requests_approver
    ON enrollment_config_change_requests (required_approver_account_id)
    WHERE status = 'pending';

-- Worker: self-tier requests whose delay has elapsed.
CREATE INDEX idx_config_change_requests_delay
    ON enrollment_config_change_requests (delay_until)
    WHERE status = 'pending' AND delay_until IS NOT NULL;

COMMENT ON TABLE enrollment_config_change_requests IS
    'Loosening changes of an enrollment''s configuration awaiting the same approval as unenrollment.';

CREATE TRIGGER trg_audit_enrollment_config_change_requests
    AFTER INSERT OR UPDATE OR DELETE ON enrollment_config_change_requests
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

-- ---------------------------------------------------------------------------
-- notifications (outbox)
-- ---------------------------------------------------------------------------
CREATE TABLE notifications (
    id          BIGSERIAL    PRIMARY KEY,
    -- Recipient account; NULL when addressed by e-mail only (payload.email).
    account_id  BIGINT       REFERENCES accounts (id) ON DELETE CASCADE,
    -- What happened: partner_invitation, unenroll_requested, unenroll_decided, ...
    kind        VARCHAR(64)  NOT NULL,
    payload     JSONB        NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- Set by the worker once delivered.
    sent_at     TIMESTAMPTZ,
    CONSTRAINT chk_notifications_kind CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
    CONSTRAINT chk_notifications_payload CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT chk_notifications_recipient CHECK (account_id IS NOT NULL OR payload ? 'email')
);

-- Worker: undelivered notifications, oldest first.
CREATE INDEX idx_notifications_unsent ON notifications (created_at) WHERE sent_at IS NULL;

-- Notifications of an account.
CREATE INDEX idx_notifications_account ON notifications (account_id, created_at DESC) WHERE account_id IS NOT NULL;

COMMENT ON TABLE notifications IS 'Outbox of notifications to deliver (worker); payload shape depends on kind.';
