-- 0007_events_and_reporting.sql
--
-- Creates: the events table, range-partitioned by month on created_at (spec
-- 5.5 and section 7) with its four indexes; the partition management
-- functions ensure_events_partition(date) and ensure_events_partitions(date,
-- date); the partitions for the previous, current and next three months; and
-- the reporting_snapshots table.
--
-- Why: events is the highest-volume table (a heartbeat per device every five
-- minutes); monthly partitions keep each one small enough for pruning and let
-- old months be detached and archived. Instead of the spec's hard-coded 2026
-- partition list (which would make a database migrated in 2027 reject every
-- event) partitions are created by a function, here for "now", later by the
-- worker three months ahead.
--
-- Decisions:
-- * Partition bounds are UTC calendar months ('YYYY-MM-01 00:00:00+00'),
--   independent of the session TimeZone of whoever creates them.
-- * There is deliberately NO default partition: an event for a month without
--   a partition fails loudly ("no partition of relation events found for
--   row") instead of piling up in a default partition, whose rows would later
--   prevent creating that month's partition.
-- * No foreign keys (spec): device_id and enrollment_id are validated by the
--   API before insert.
-- * events has no row-level security (spec section 6): the application
--   filters by enrollment visibility.

-- ---------------------------------------------------------------------------
-- events
-- ---------------------------------------------------------------------------
CREATE TABLE events (
    id             BIGSERIAL,
    device_id      BIGINT      NOT NULL,
    enrollment_id  BIGINT,
    event_type     event_type  NOT NULL,
    -- Shape per event_type: spec section 9.4.
    metadata       JSONB       NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The partition key must be part of the primary key.
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- Indexes on the partitioned table are created on every partition.

-- Events of a device, newest first.
CREATE INDEX idx_events_device_created ON events (device_id, created_at DESC);

-- Events of an enrollment, newest first.
CREATE INDEX idx_events_enrollment_created ON events (enrollment_id, created_at DESC) WHERE enrollment_id IS NOT NULL;

-- Event type within a time range.
CREATE INDEX idx_events_type_created ON events (event_type, created_at DESC);

-- Tamper and bypass alerts (real-time alerting).
CREATE INDEX idx_events_alerts ON events (device_id, created_at DESC)
    WHERE event_type IN ('bypass_attempt', 'tamper', 'vpn_detected', 'extension_removed');

COMMENT ON TABLE events IS 'Agent events, range-partitioned by UTC month on created_at (partitions events_yYYYYmMM).';

-- ---------------------------------------------------------------------------
-- Partition management
-- ---------------------------------------------------------------------------

-- Creates (if missing) the partition events_yYYYYmMM for the UTC month that
-- contains p_month and returns its name. Idempotent and safe to call
-- concurrently (callers are serialized by a transaction-scoped advisory
-- lock; an existing partition is detected without locking events).
-- SECURITY DEFINER so that the worker, connected as the application role
-- (which cannot create tables), can keep partitions ahead; the partitions are
-- then owned by the migration owner like every other table, and receive the
-- application role's default privileges (0010).
CREATE OR REPLACE FUNCTION ensure_events_partition(p_month date)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_start  date;
    v_end    date;
    v_name   text;
    v_parent oid;
    v_kind   "char";
BEGIN
    IF p_month IS NULL THEN
        RAISE EXCEPTION 'ensure_events_partition: p_month must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;

    v_start := make_date(extract(year FROM p_month)::int, extract(month FROM p_month)::int, 1);
    v_end   := (v_start + interval '1 month')::date;
    v_name  := 'events_y' || to_char(v_start, 'YYYY') || 'm' || to_char(v_start, 'MM');

    PERFORM pg_advisory_xact_lock(hashtext('betblocker.ensure_events_partition'));

    SELECT c.relkind, i.inhparent
      INTO v_kind, v_parent
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
     WHERE n.nspname = 'public' AND c.relname = v_name;

    IF FOUND THEN
        IF v_parent IS DISTINCT FROM 'public.events'::regclass::oid THEN
            RAISE EXCEPTION 'ensure_events_partition: relation public.% exists but is not a partition of public.events', v_name
                USING HINT = 'A detached (archived) partition must be dropped or renamed before the month can be re-created.';
        END IF;
        RETURN v_name;
    END IF;

    EXECUTE format(
        'CREATE TABLE public.%I PARTITION OF public.events FOR VALUES FROM (%L) TO (%L)',
        v_name,
        to_char(v_start, 'YYYY-MM-DD') || ' 00:00:00+00',
        to_char(v_end, 'YYYY-MM-DD') || ' 00:00:00+00'
    );
    EXECUTE format('COMMENT ON TABLE public.%I IS %L', v_name,
        'events partition for UTC month ' || to_char(v_start, 'YYYY-MM'));

    RETURN v_name;
END;
$$;

COMMENT ON FUNCTION ensure_events_partition(date) IS
    'Creates (idempotently) the events partition events_yYYYYmMM of the UTC month containing p_month; returns its name.';

-- Ensures the partitions of every month from the month of p_from through the
-- month of p_to (inclusive); returns the partition names in order.
CREATE OR REPLACE FUNCTION ensure_events_partitions(p_from date, p_to date)
RETURNS SETOF text
LANGUAGE plpgsql
VOLATILE
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_month date;
    v_last  date;
BEGIN
    IF p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'ensure_events_partitions: p_from and p_to must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_from > p_to THEN
        RAISE EXCEPTION 'ensure_events_partitions: p_from (%) is after p_to (%)', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    v_month := make_date(extract(year FROM p_from)::int, extract(month FROM p_from)::int, 1);
    v_last  := make_date(extract(year FROM p_to)::int, extract(month FROM p_to)::int, 1);
    WHILE v_month <= v_last LOOP
        RETURN NEXT public.ensure_events_partition(v_month);
        v_month := (v_month + interval '1 month')::date;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION ensure_events_partitions(date, date) IS
    'Creates (idempotently) the events partitions of every UTC month from p_from through p_to; returns their names.';

-- Partitions from last month through three months ahead (UTC), so that a
-- freshly migrated database accepts events immediately (including late
-- events of the previous month). The worker keeps extending the window.
DO $$
DECLARE
    v_this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    PERFORM ensure_events_partitions(
        (v_this_month - interval '1 month')::date,
        (v_this_month + interval '3 months')::date
    );
END
$$;

-- ---------------------------------------------------------------------------
-- reporting_snapshots: daily per-enrollment aggregates computed by the worker
-- ---------------------------------------------------------------------------
CREATE TABLE reporting_snapshots (
    id             BIGSERIAL   PRIMARY KEY,
    enrollment_id  BIGINT      NOT NULL REFERENCES enrollments (id) ON DELETE CASCADE,
    snapshot_date  DATE        NOT NULL,
    -- Shape: spec section 9.5.
    summary        JSONB       NOT NULL DEFAULT '{}',
    computed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One snapshot per enrollment per day.
CREATE UNIQUE INDEX uq_reporting_snapshot ON reporting_snapshots (enrollment_id, snapshot_date);

-- Date range queries for dashboards.
CREATE INDEX idx_reporting_snapshots_date ON reporting_snapshots (snapshot_date DESC);

COMMENT ON TABLE reporting_snapshots IS 'Pre-aggregated daily event summaries per enrollment (dashboards read these).';
