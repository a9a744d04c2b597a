-- 0004_devices_and_enrollments.sql
--
-- Creates: devices, device_certificates, enrollments and
-- enrollment_unenroll_requests (spec 5.3) with their constraints, indexes and
-- the updated_at triggers of devices and enrollments.
--
-- Why: a device is owned by one account and authenticates with a client
-- certificate (mTLS, fingerprint stored here); an enrollment puts a device
-- under a protection policy of a tier (self, partner, authority); removing
-- protection goes through an unenroll request that is delayed or approved.
-- All four tables get row-level security in 0011 and audit triggers in 0009.

-- ---------------------------------------------------------------------------
-- devices
-- ---------------------------------------------------------------------------
CREATE TABLE devices (
    id              BIGSERIAL       PRIMARY KEY,
    public_id       UUID            NOT NULL DEFAULT gen_random_uuid(),
    -- The owner of the device (the protected user).
    account_id      BIGINT          NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    platform        device_platform NOT NULL,
    os_version      VARCHAR(50),
    agent_version   VARCHAR(50),
    hostname        VARCHAR(255),
    -- Platform-specific hardware fingerprint.
    hardware_id     VARCHAR(255),
    last_heartbeat  TIMESTAMPTZ,
    status          device_status   NOT NULL DEFAULT 'pending',
    created_at      TIMESTAMPTZ     NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ     NOT NULL DEFAULT now(),
    CONSTRAINT uq_devices_public_id UNIQUE (public_id)
);

-- Devices owned by an account.
CREATE INDEX idx_devices_account_id ON devices (account_id);

-- Stale heartbeat detection (worker).
CREATE INDEX idx_devices_heartbeat_active ON devices (last_heartbeat ASC NULLS FIRST) WHERE status = 'active';

-- Hardware de-duplication check.
CREATE INDEX idx_devices_hardware_id ON devices (hardware_id) WHERE hardware_id IS NOT NULL;

-- Platform analytics.
CREATE INDEX idx_devices_platform ON devices (platform);

CREATE TRIGGER trg_devices_updated_at
    BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE devices IS 'Devices running the BetBlocker agent, owned by one account.';

-- ---------------------------------------------------------------------------
-- device_certificates
-- ---------------------------------------------------------------------------
CREATE TABLE device_certificates (
    id                       BIGSERIAL    PRIMARY KEY,
    device_id                BIGINT       NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    -- SHA-256 (hex) of the DER certificate issued by the device CA.
    certificate_fingerprint  VARCHAR(128) NOT NULL,
    issued_at                TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expires_at               TIMESTAMPTZ  NOT NULL,
    revoked_at               TIMESTAMPTZ,
    CONSTRAINT uq_device_cert_fingerprint UNIQUE (certificate_fingerprint)
);

-- Active certificate of a device (mTLS validation).
CREATE INDEX idx_device_certs_device_active ON device_certificates (device_id) WHERE revoked_at IS NULL;

-- Expiry monitoring.
CREATE INDEX idx_device_certs_expires ON device_certificates (expires_at) WHERE revoked_at IS NULL;

COMMENT ON TABLE device_certificates IS 'mTLS client certificates issued to devices, by SHA-256 fingerprint.';

-- ---------------------------------------------------------------------------
-- enrollments
-- ---------------------------------------------------------------------------
CREATE TABLE enrollments (
    id                      BIGSERIAL         PRIMARY KEY,
    public_id               UUID              NOT NULL DEFAULT gen_random_uuid(),
    device_id               BIGINT            NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    -- The account that put the device under protection (the user for the self
    -- tier, the partner or the authority otherwise). RESTRICT: an account that
    -- still has enrollments on record cannot be deleted.
    enrolled_by_account_id  BIGINT            NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    tier                    enrollment_tier   NOT NULL,
    -- JSONB shapes: spec section 9, validated by the application (zod).
    protection_config       JSONB             NOT NULL DEFAULT '{}',
    reporting_config        JSONB             NOT NULL DEFAULT '{}',
    unenrollment_policy     JSONB             NOT NULL DEFAULT '{}',
    status                  enrollment_status NOT NULL DEFAULT 'active',
    created_at              TIMESTAMPTZ       NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ       NOT NULL DEFAULT now(),
    CONSTRAINT uq_enrollments_public_id UNIQUE (public_id)
);

-- A device has at most one active enrollment.
CREATE UNIQUE INDEX uq_enrollments_device_active ON enrollments (device_id) WHERE status = 'active';

-- Enrollments managed by an account.
CREATE INDEX idx_enrollments_enrolled_by ON enrollments (enrolled_by_account_id);

-- Dashboards: enrollments by tier and status.
CREATE INDEX idx_enrollments_tier_status ON enrollments (tier, status);

-- Active enrollment of a device.
CREATE INDEX idx_enrollments_device_status ON enrollments (device_id, status);

CREATE TRIGGER trg_enrollments_updated_at
    BEFORE UPDATE ON enrollments
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE enrollments IS 'A device under a protection policy of a tier (self, partner, authority).';

-- ---------------------------------------------------------------------------
-- enrollment_unenroll_requests
-- ---------------------------------------------------------------------------
CREATE TABLE enrollment_unenroll_requests (
    id                            BIGSERIAL               PRIMARY KEY,
    enrollment_id                 BIGINT                  NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    requested_by_account_id       BIGINT                  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    requested_at                  TIMESTAMPTZ             NOT NULL DEFAULT now(),
    -- Partner / authority that must decide (NULL for the self tier).
    required_approver_account_id  BIGINT                  REFERENCES accounts (id) ON DELETE SET NULL,
    approved_by_account_id        BIGINT                  REFERENCES accounts (id) ON DELETE SET NULL,
    approved_at                   TIMESTAMPTZ,
    -- Self tier: the request takes effect after this instant.
    delay_until                   TIMESTAMPTZ,
    status                        unenroll_request_status NOT NULL DEFAULT 'pending'
);

-- Only one pending request per enrollment at a time.
CREATE UNIQUE INDEX uq_unenroll_request_pending ON enrollment_unenroll_requests (enrollment_id) WHERE status = 'pending';

-- Requests awaiting a given approver.
CREATE INDEX idx_unenroll_requests_approver
    ON enrollment_unenroll_requests (required_approver_account_id)
    WHERE status = 'pending';

-- Worker: self-tier requests whose delay has elapsed.
CREATE INDEX idx_unenroll_requests_delay
    ON enrollment_unenroll_requests (delay_until)
    WHERE status = 'pending' AND delay_until IS NOT NULL;

COMMENT ON TABLE enrollment_unenroll_requests IS 'Requests to remove protection: delayed (self tier) or approved (partner/authority).';
