-- 0008_billing.sql
--
-- Creates: the subscriptions table (spec 5.6) with its constraints, indexes
-- and updated_at trigger.
--
-- Why: hosted deployments bill through Stripe. The table exists in every
-- deployment (same migrations everywhere) but is only populated when
-- BILLING_ENABLED is set. Row-level security is enabled in 0011, the audit
-- trigger is attached in 0009.

CREATE TABLE subscriptions (
    id                      BIGSERIAL           PRIMARY KEY,
    account_id              BIGINT              NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    stripe_customer_id      VARCHAR(255)        NOT NULL,
    stripe_subscription_id  VARCHAR(255)        NOT NULL,
    plan                    subscription_plan   NOT NULL DEFAULT 'standard',
    status                  subscription_status NOT NULL DEFAULT 'active',
    current_period_start    TIMESTAMPTZ         NOT NULL,
    current_period_end      TIMESTAMPTZ         NOT NULL,
    created_at              TIMESTAMPTZ         NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ         NOT NULL DEFAULT now(),
    CONSTRAINT uq_subscriptions_stripe_customer UNIQUE (stripe_customer_id),
    CONSTRAINT uq_subscriptions_stripe_sub UNIQUE (stripe_subscription_id)
);

-- One live (active, trialing or past-due) subscription per account.
CREATE UNIQUE INDEX uq_subscriptions_account_active
    ON subscriptions (account_id)
    WHERE status IN ('active', 'trialing', 'past_due');

-- Webhook lookup by Stripe customer id. (Redundant with the unique
-- constraint's index, but named by the spec, so kept.)
CREATE INDEX idx_subscriptions_stripe_customer ON subscriptions (stripe_customer_id);

-- Renewal processing.
CREATE INDEX idx_subscriptions_period_end ON subscriptions (current_period_end) WHERE status = 'active';

CREATE TRIGGER trg_subscriptions_updated_at
    BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE subscriptions IS 'Stripe subscriptions (hosted deployments with BILLING_ENABLED only).';
