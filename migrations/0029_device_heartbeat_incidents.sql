-- 0029: device_heartbeat_incidents, the worker's record of missed-heartbeat incidents.
--
-- Why: the heartbeat monitor (worker job monitoring.heartbeat) marks a device 'stale' when its last
-- heartbeat is older than 3 x its enrollment's heartbeat_interval_seconds and alerts the enrollment's
-- people once per incident; when a heartbeat arrives again (the API sets the device 'active') it sends a
-- "recovered" notice once and closes the incident. The open incident is the state that links the two.
--
-- Decisions:
-- * One open incident per device (partial unique index): two workers that both see the device go stale
--   end with one row, hence one alert (alert_deliveries is also unique per incident key).
-- * stale_heartbeat_at is the last_heartbeat the device went stale at; with device_id it names the
--   incident (the alert incident key).
-- * Worker-only table: row-level security admits the worker roles ('admin', 'system') only.

CREATE TABLE device_heartbeat_incidents (
    id                  BIGSERIAL    PRIMARY KEY,
    device_id           BIGINT       NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    enrollment_id       BIGINT       NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    -- devices.last_heartbeat when the device was found stale (NULL: it never sent one).
    stale_heartbeat_at  TIMESTAMPTZ,
    opened_at           TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- Alert recipients queued when the incident opened (0: nobody is configured to hear it).
    alert_recipients    INTEGER      NOT NULL DEFAULT 0,
    recovered_at        TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    CONSTRAINT chk_heartbeat_incidents_closed CHECK (closed_at IS NULL OR closed_at >= opened_at)
);

CREATE UNIQUE INDEX uq_heartbeat_incidents_open ON device_heartbeat_incidents (device_id) WHERE closed_at IS NULL;

CREATE INDEX idx_heartbeat_incidents_enrollment ON device_heartbeat_incidents (enrollment_id);

COMMENT ON TABLE device_heartbeat_incidents IS
    'Addition: missed-heartbeat incidents (open until the device sends a heartbeat again), by the worker.';

ALTER TABLE device_heartbeat_incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_heartbeat_incidents FORCE ROW LEVEL SECURITY;

CREATE POLICY device_heartbeat_incidents_system ON device_heartbeat_incidents
    FOR ALL
    USING (current_account_role() IN ('admin', 'system'))
    WITH CHECK (current_account_role() IN ('admin', 'system'));
