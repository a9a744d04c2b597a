-- 0015_event_ingestion.sql
--
-- Creates: events.event_uid (the agent's per-event idempotency key) with the
-- unique index uq_events_event_uid (event_uid, created_at) on the partitioned
-- table and every existing partition; events.visible_to_authority; and the
-- device_event_batches table (batch idempotency: one row per accepted
-- EventBatch, with the outcome that a replay of the batch is answered with).
--
-- Why: agents queue events on disk while offline and resend batches until the
-- API acknowledges them (events.proto). A batch sent twice must be stored
-- once (device_event_batches), and an event that reappears in a different
-- batch must not be stored twice (uq_events_event_uid, INSERT ... ON CONFLICT
-- DO NOTHING). created_at is the event's occurred_at, so a resent event has
-- the same key; the partition key must be part of every unique index of a
-- partitioned table, hence (event_uid, created_at).
--
-- visible_to_authority: reporting_config.report_to_authority.* switches an
-- event kind off for the enrollment's partner/authority. Such events are still
-- STORED (the device owner sees their own history, and a tamper event is never
-- thrown away), with visible_to_authority = false; partner/authority views and
-- reports must filter on it.
--
-- Locking: CREATE INDEX on the partitioned parent builds the index on every
-- partition in this transaction and blocks writes to events meanwhile. That is
-- fine for the databases that exist today (events has no production data
-- yet). For a populated table the zero-downtime form is: CREATE UNIQUE INDEX
-- ... ON ONLY events; per partition CREATE UNIQUE INDEX CONCURRENTLY + ALTER
-- INDEX ... ATTACH PARTITION; it cannot be written as a static migration
-- because the partitions are created at run time.

ALTER TABLE events ADD COLUMN event_uid UUID;
ALTER TABLE events ADD COLUMN visible_to_authority BOOLEAN NOT NULL DEFAULT true;

COMMENT ON COLUMN events.event_uid IS
    'Addition: the agent''s event_id (idempotency key); NULL for rows not from an agent batch.';
COMMENT ON COLUMN events.visible_to_authority IS
    'Addition: false when reporting_config.report_to_authority switched this event kind off (stored for the owner only).';

-- Per-event idempotency (NULLs are distinct: rows without an event_uid never conflict).
CREATE UNIQUE INDEX uq_events_event_uid ON events (event_uid, created_at);

-- ---------------------------------------------------------------------------
-- device_event_batches
-- ---------------------------------------------------------------------------
CREATE TABLE device_event_batches (
    id              BIGSERIAL    PRIMARY KEY,
    device_id       BIGINT       NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    -- EventBatch.batch_id.
    batch_id        UUID         NOT NULL,
    received_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- Events in the batch (drop notices included).
    event_count     INTEGER      NOT NULL,
    -- The outcome returned for the batch, and again for every replay of it.
    accepted        INTEGER      NOT NULL,
    duplicates      INTEGER      NOT NULL,
    -- [{"id": event_id, "code": "...", "message": "..."}].
    rejected        JSONB        NOT NULL DEFAULT '[]',
    -- Sum of the batch's DropNotice.dropped_count: events the agent's bounded
    -- offline queue lost. Kept so that reports can say that events are missing.
    dropped_events  INTEGER      NOT NULL DEFAULT 0,
    CONSTRAINT uq_device_event_batches UNIQUE (device_id, batch_id),
    CONSTRAINT chk_device_event_batches_counts CHECK (
        event_count >= 0 AND accepted >= 0 AND duplicates >= 0 AND dropped_events >= 0
    )
);

-- Clean-up of old idempotency records (worker; agents resend within days).
CREATE INDEX idx_device_event_batches_received ON device_event_batches (received_at);

COMMENT ON TABLE device_event_batches IS
    'Addition: EventBatch idempotency records (one per batch and device) with the outcome replays receive.';

-- Tenant-scoped: the device's owner (device requests run as the owner), or admin.
ALTER TABLE device_event_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_event_batches FORCE ROW LEVEL SECURITY;

CREATE POLICY device_event_batches_access ON device_event_batches
    FOR ALL
    USING (
        current_account_role() = 'admin'
        OR rls_owns_device(device_id)
    )
    WITH CHECK (
        current_account_role() = 'admin'
        OR rls_owns_device(device_id)
    );
