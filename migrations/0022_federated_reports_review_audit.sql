-- 0022_federated_reports_review_audit.sql
--
-- Creates: the audit trigger trg_audit_federated_reports, on UPDATE only.
--
-- Why: an admin's review decision (confirm, reject, duplicate) changes what
-- every agent blocks, so who decided, when and from where belongs in the
-- audit trail next to the blocklist_entries change it causes. The API makes
-- the decision in one transaction with SET LOCAL app.current_account_id, so
-- fn_audit_trigger (0009) records the admin as actor.
-- INSERT is deliberately not audited: agents file reports in bulk, and the
-- report row itself already says which device reported what and when.

CREATE TRIGGER trg_audit_federated_reports
    AFTER UPDATE ON federated_reports
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();
