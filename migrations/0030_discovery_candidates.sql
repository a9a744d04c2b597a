-- 0030: discovery_candidates, domains from federated reports that reached the review threshold.
--
-- Why: the worker job discovery.federated-intake aggregates pending federated_reports by domain. A domain
-- becomes a candidate (enters the review queue) only once k distinct devices reported it
-- (discovery.min_distinct_devices, default 3): below k a report could single out one person's browsing,
-- so it stays invisible to reviewers. Each candidate is classified by name (common/discovery
-- classifyDomain): score >= autoAddThreshold -> an active automated blocklist entry (never for an
-- allowlisted domain), >= reviewThreshold -> a 'review' entry; the score is recorded here and as the
-- entry's confidence_score.
--
-- Decisions:
-- * domain is the key: inserting the candidate (ON CONFLICT DO NOTHING) is what makes the intake
--   idempotent and safe on two workers (only the inserting transaction files the blocklist entry).
-- * Global like federated_reports (admin review queue): no row-level security.

CREATE TABLE discovery_candidates (
    domain              VARCHAR(500) PRIMARY KEY,
    -- Distinct devices with pending reports when last counted (>= k when created).
    distinct_devices    INTEGER      NOT NULL,
    first_reported_at   TIMESTAMPTZ  NOT NULL,
    last_reported_at    TIMESTAMPTZ  NOT NULL,
    -- classifyDomain score (0-100) and its signals, strongest first.
    confidence_score    SMALLINT     NOT NULL,
    signals             TEXT[]       NOT NULL DEFAULT '{}',
    -- auto_added: active automated entry; review: 'review' entry; queued: below the review threshold, left to
    -- reviewers; allowlisted: never auto-added; existing: the domain already had a blocklist entry.
    outcome             VARCHAR(20)  NOT NULL,
    blocklist_entry_id  BIGINT       REFERENCES blocklist_entries (id) ON DELETE SET NULL,
    queued_at           TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT chk_discovery_candidates_score CHECK (confidence_score BETWEEN 0 AND 100),
    CONSTRAINT chk_discovery_candidates_devices CHECK (distinct_devices >= 1),
    CONSTRAINT chk_discovery_candidates_outcome
        CHECK (outcome IN ('auto_added', 'review', 'queued', 'allowlisted', 'existing'))
);

CREATE INDEX idx_discovery_candidates_queued ON discovery_candidates (queued_at DESC);

CREATE TRIGGER trg_discovery_candidates_updated_at
    BEFORE UPDATE ON discovery_candidates
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

COMMENT ON TABLE discovery_candidates IS
    'Addition: federated-report domains reported by at least k distinct devices, classified by the worker.';
