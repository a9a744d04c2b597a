-- 0026_list_sources.sql
--
-- Creates: list_sources (Pi-hole-adlist-style sources of gambling domains,
-- imported on a schedule by the worker) and list_source_entries (which
-- source currently lists which blocklist entry).
--
-- Why: public gambling lists change every day and overlap little, so the
-- platform keeps a table of sources (URL or file, format, license, category)
-- and re-imports each one with a conditional GET. The mapping table records
-- provenance, so that a domain that disappears from ALL the sources that
-- listed it (and was not curated by hand or federated) is deactivated,
-- while a domain another source still lists stays blocked.
--
-- Safety rules enforced by the import service (packages/core/src/list-sources):
-- an entry is never deactivated because a fetch failed, returned an error,
-- or returned a suspiciously small list; such a fetch is recorded here
-- (last_status 'error', last_error, consecutive_failures) and leaves
-- entries and mappings untouched.
--
-- These tables are global operator data like blocklist_entries (no row-level
-- security). list_sources changes are audited (they change what every device
-- blocks); the mapping table is not (it has no id and is derived data).

-- ---------------------------------------------------------------------------
-- list_sources
-- ---------------------------------------------------------------------------
CREATE TABLE list_sources (
    id                    BIGSERIAL    PRIMARY KEY,
    -- Operator-chosen handle used by the CLI: lower-case letters, digits, '-', '_', '.'.
    name                  VARCHAR(100) NOT NULL,
    -- http(s) URL, or an absolute path of a file on the worker's machine.
    location              TEXT         NOT NULL,
    format                VARCHAR(20)  NOT NULL,
    -- SPDX identifier or free text, e.g. 'MIT'; shown to operators, never enforced.
    license               VARCHAR(200),
    -- Category given to entries whose line carries none (only csv lines carry one).
    category              VARCHAR(100),
    enabled               BOOLEAN      NOT NULL DEFAULT TRUE,
    -- Outcome of the last attempt: NULL = never fetched.
    last_fetch_at         TIMESTAMPTZ,
    last_status           VARCHAR(20),
    last_error            TEXT,
    -- Validators of the last ACCEPTED content, for conditional GET (RFC 9110
    -- section 13.1): sent as If-None-Match / If-Modified-Since. A file
    -- source keeps its modification time in last_modified.
    etag                  TEXT,
    last_modified         TEXT,
    -- SHA-256 of the last accepted content: an unchanged body served with 200
    -- (no validators) is recognised and not diffed again.
    content_sha256        BYTEA,
    -- Entries of the last accepted list (baseline of the shrink guard).
    entries_count         INTEGER      NOT NULL DEFAULT 0,
    -- Failed attempts in a row; an operator alert is raised at the threshold.
    consecutive_failures  INTEGER      NOT NULL DEFAULT 0,
    -- First failure of the current streak (NULL while healthy): names the incident of the operator alert.
    failing_since         TIMESTAMPTZ,
    -- Lease held by the worker fetching the source (several replicas).
    lease_owner           TEXT,
    lease_until           TIMESTAMPTZ,
    created_at            TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT uq_list_sources_name UNIQUE (name),
    CONSTRAINT chk_list_sources_name CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    CONSTRAINT chk_list_sources_format CHECK (format IN ('csv', 'domains', 'hosts', 'adblock')),
    CONSTRAINT chk_list_sources_status CHECK (last_status IS NULL OR last_status IN ('ok', 'not_modified', 'error')),
    CONSTRAINT chk_list_sources_location CHECK (location ~* '^https?://' OR location LIKE '/%'),
    CONSTRAINT chk_list_sources_counts CHECK (entries_count >= 0 AND consecutive_failures >= 0)
);

CREATE TRIGGER trg_list_sources_updated_at
    BEFORE UPDATE ON list_sources
    FOR EACH ROW EXECUTE FUNCTION fn_set_updated_at();

CREATE TRIGGER trg_audit_list_sources
    AFTER INSERT OR UPDATE OR DELETE ON list_sources
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

COMMENT ON TABLE list_sources IS
    'Addition: scheduled list sources (URL or file, format, license) imported into blocklist_entries by the worker.';

-- ---------------------------------------------------------------------------
-- list_source_entries: provenance
-- ---------------------------------------------------------------------------
CREATE TABLE list_source_entries (
    list_source_id      BIGINT      NOT NULL REFERENCES list_sources (id) ON DELETE CASCADE,
    blocklist_entry_id  BIGINT      NOT NULL REFERENCES blocklist_entries (id) ON DELETE CASCADE,
    first_seen_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (list_source_id, blocklist_entry_id)
);

-- "Does any other source still list this entry?"
CREATE INDEX idx_list_source_entries_entry ON list_source_entries (blocklist_entry_id);

COMMENT ON TABLE list_source_entries IS
    'Addition: which list source currently lists which blocklist entry (deactivation when no source lists it).';
