-- 0027_alert_deliveries.sql
--
-- Creates: alert_deliveries, the outbox of alert messages (e-mail through
-- SMTP, signed webhooks) delivered by the worker.
--
-- Why: an alert that is never sent harms someone (a partner who is not told
-- that protection was removed). Alerts are written to this table in the same
-- transaction as whatever raised them, and a worker job delivers them with
-- retries, exponential backoff and a dead letter state that operators see.
--
-- Contracts:
-- * One delivery per incident per recipient per channel:
--   uq_alert_deliveries_incident makes enqueueing idempotent (a job that runs
--   twice, or two replicas raising the same incident, create one row).
-- * public_id is the idempotency key sent to receivers (Idempotency-Key
--   header, e-mail Message-ID): a delivery retried after a crash between
--   sending and recording is recognised as a duplicate by the receiver.
-- * status: pending -> sent (only after the receiver accepted: a 2xx or an
--   SMTP 250) or dead (after the configured number of failed attempts).
--
-- Row-level security: recipients and payloads concern individual users, so
-- only the operator/system context may read or write rows through the
-- application role: role 'admin' (the worker's and CLI's actor) or 'system'
-- (the actor of the lifecycle jobs of migrations 0017-0020).
CREATE TABLE alert_deliveries (
    id               BIGSERIAL    PRIMARY KEY,
    public_id        UUID         NOT NULL DEFAULT gen_random_uuid(),
    -- Identifies the incident, e.g. 'list-source-failing:3:2026-05-01T10:00Z'.
    incident_key     VARCHAR(200) NOT NULL,
    channel          VARCHAR(20)  NOT NULL,
    -- E-mail address, or the webhook URL.
    recipient        VARCHAR(500) NOT NULL,
    -- Account the alert is about, when there is one.
    account_id       BIGINT       REFERENCES accounts (id) ON DELETE CASCADE,
    subject          VARCHAR(300) NOT NULL,
    payload          JSONB        NOT NULL DEFAULT '{}',
    status           VARCHAR(20)  NOT NULL DEFAULT 'pending',
    attempts         INTEGER      NOT NULL DEFAULT 0,
    -- When the next attempt may start; bumped by a lease when a worker claims the row.
    next_attempt_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    last_error       TEXT,
    created_at       TIMESTAMPTZ  NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ,
    CONSTRAINT uq_alert_deliveries_public_id UNIQUE (public_id),
    CONSTRAINT uq_alert_deliveries_incident UNIQUE (incident_key, channel, recipient),
    CONSTRAINT chk_alert_deliveries_channel CHECK (channel IN ('email', 'webhook')),
    CONSTRAINT chk_alert_deliveries_status CHECK (status IN ('pending', 'sent', 'dead')),
    CONSTRAINT chk_alert_deliveries_sent CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CONSTRAINT chk_alert_deliveries_attempts CHECK (attempts >= 0)
);

-- The delivery job's claim query: due pending deliveries, oldest first.
CREATE INDEX idx_alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';

-- Dead letters for operators (health, `betblocker alerts list --dead`).
CREATE INDEX idx_alert_deliveries_dead ON alert_deliveries (created_at DESC) WHERE status = 'dead';

-- Alerts about an account (ON DELETE CASCADE, dashboards).
CREATE INDEX idx_alert_deliveries_account ON alert_deliveries (account_id) WHERE account_id IS NOT NULL;

COMMENT ON TABLE alert_deliveries IS
    'Addition: outbox of alert e-mails and signed webhooks, delivered by the worker with retries and dead letters.';

ALTER TABLE alert_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_deliveries FORCE ROW LEVEL SECURITY;

CREATE POLICY alert_deliveries_system ON alert_deliveries
    FOR ALL
    USING (current_account_role() IN ('admin', 'system'))
    WITH CHECK (current_account_role() IN ('admin', 'system'));
