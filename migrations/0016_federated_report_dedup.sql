-- 0016_federated_report_dedup.sql
--
-- Creates: uq_federated_reports_device_domain_day, a unique index on
-- federated_reports (device_id, domain, UTC day of reported_at).
--
-- Why: an agent's heuristics see the same suspicious domain many times a day
-- and resend batches while offline; the admins' review queue counts reports
-- per domain as a priority signal, so one device must count once per domain
-- per day. The API inserts with ON CONFLICT DO NOTHING on this index, which
-- also makes a replayed FederatedReportBatch harmless.
-- (reported_at AT TIME ZONE 'UTC')::date is immutable, unlike a plain
-- timestamptz -> date cast, which depends on the session TimeZone.

CREATE UNIQUE INDEX uq_federated_reports_device_domain_day
    ON federated_reports (device_id, domain, ((reported_at AT TIME ZONE 'UTC')::date));
