-- 0021_reporting_device_status.sql
--
-- Creates: reporting_device_status_at(p_enrollment_id, p_at), the status of
-- an enrollment's device as it was at a point in time, for the daily
-- reporting summary (spec 9.5 device_status_at_end_of_day).
--
-- Why a function: the summary is read by whoever may see the enrollment
-- (device owner or the account that enrolled it, see rls_can_see_enrollment),
-- but the devices policy only shows a device to an enrolling account while
-- its enrollment is ACTIVE, so a partner reading last month's report of an
-- unenrolled device would see no device at all. And "at end of day" is
-- history: the devices table only holds the current status, while every
-- status change is in audit_log (devices is audited since 0009, INSERT
-- included). The function answers exactly one value for an enrollment the
-- caller can see (or any, for an admin session, for the worker's system
-- context - no account, app.current_role 'system', as rls_is_system() of 0017
-- - and for a session user that bypasses row-level security anyway), NULL
-- otherwise, and reveals nothing else of the device or the
-- audit trail.
--
-- Contract: the latest devices audit row before p_at that carries a status
-- (INSERT or UPDATE) wins; when the audit trail has none (rows created before
-- auditing, or archived audit rows) the device's current status is returned.
-- Served by idx_audit_log_table_row (table_name, row_id, created_at DESC).

CREATE OR REPLACE FUNCTION reporting_device_status_at(p_enrollment_id bigint, p_at timestamptz)
RETURNS device_status
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT coalesce(
               (SELECT (a.new_values ->> 'status')::public.device_status
                  FROM public.audit_log a
                 WHERE a.table_name = 'devices'
                   AND a.row_id = d.id
                   AND a.created_at < p_at
                   AND a.new_values ? 'status'
                 ORDER BY a.created_at DESC, a.id DESC
                 LIMIT 1),
               d.status)
      FROM public.enrollments e
      JOIN public.devices d ON d.id = e.device_id
     WHERE e.id = p_enrollment_id
       AND (public.current_account_role() = 'admin'
            OR public.rls_can_see_enrollment(p_enrollment_id)
            OR (public.current_account_id() IS NULL AND public.current_account_role() = 'system')
            -- session_user, not current_user (which is the definer here).
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                        WHERE r.rolname = session_user AND (r.rolsuper OR r.rolbypassrls)))
$$;

COMMENT ON FUNCTION reporting_device_status_at(bigint, timestamptz) IS
    'Status of the enrollment''s device at p_at (from the devices audit trail, else the current status); NULL unless the caller can see the enrollment.';

REVOKE ALL ON FUNCTION reporting_device_status_at(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting_device_status_at(bigint, timestamptz) TO betblocker_api;
