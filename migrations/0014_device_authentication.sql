-- 0014_device_authentication.sql
--
-- Creates: the SECURITY DEFINER functions the device side of the API needs
-- before (or beyond) a single account's row-level security:
--   device_auth_lookup(fingerprint)        who presents this client certificate
--   device_record_heartbeats(ids, ...)     one UPDATE for a flush of coalesced heartbeats
-- and replaces the devices audit trigger by two, so that heartbeat-only
-- updates (last_heartbeat, updated_at) are not copied into audit_log.
--
-- How device requests satisfy RLS (apps/api/README.md "Device side"): a
-- device has no account. The API identifies it by the SHA-256 fingerprint of
-- its client certificate with device_auth_lookup (the only step that needs
-- the definer's rights: before it, the API does not know whose device it is),
-- then runs every query of the request as the device's OWNER:
-- app.current_account_id = devices.account_id, app.current_role = 'device'
-- (matches no policy's admin branch), app.current_device_id = devices.id. The
-- owner-scoped policies of 0011 then confine the request to that one tenant.
-- The exception is the heartbeat flush, which writes the heartbeats of many
-- devices of many owners in one statement: device_record_heartbeats only
-- touches the heartbeat columns of the rows it is given.
--
-- Function rules as in 0012: SECURITY DEFINER owned by the migration owner,
-- pinned search_path, schema-qualified objects, EXECUTE for betblocker_api only.

-- ---------------------------------------------------------------------------
-- device_auth_lookup: the certificate row (any state) and its device, by the
-- certificate's SHA-256 fingerprint (lower-case hex). The caller decides:
-- revoked, expired, disabled or decommissioned all mean "not authenticated".
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION device_auth_lookup(p_fingerprint text)
RETURNS TABLE (
    certificate_id    bigint,
    device_id         bigint,
    device_public_id  uuid,
    account_id        bigint,
    device_status     text,
    expires_at        timestamptz,
    revoked_at        timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
    SELECT c.id, d.id, d.public_id, d.account_id, d.status::text, c.expires_at, c.revoked_at
      FROM public.device_certificates c
      JOIN public.devices d ON d.id = c.device_id
     WHERE c.certificate_fingerprint = p_fingerprint
$$;

-- ---------------------------------------------------------------------------
-- device_record_heartbeats: applies a flush of coalesced heartbeats (one
-- element per device, arrays of equal length). last_heartbeat never moves
-- backwards (two API replicas may flush out of order); empty or NULL versions
-- leave the stored ones; pending and stale devices become active; disabled and
-- decommissioned devices are left alone (a heartbeat buffered just before a
-- revocation must not resurrect the device). Returns the rows updated.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION device_record_heartbeats(
    p_device_ids      bigint[],
    p_seen_at         timestamptz[],
    p_agent_versions  text[],
    p_os_versions     text[]
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = public, pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF cardinality(p_device_ids) IS DISTINCT FROM cardinality(p_seen_at)
       OR cardinality(p_device_ids) IS DISTINCT FROM cardinality(p_agent_versions)
       OR cardinality(p_device_ids) IS DISTINCT FROM cardinality(p_os_versions) THEN
        RAISE EXCEPTION 'device_record_heartbeats: arrays must have equal lengths' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE public.devices d
       SET last_heartbeat = GREATEST(COALESCE(d.last_heartbeat, u.seen_at), u.seen_at),
           agent_version  = COALESCE(NULLIF(u.agent_version, ''), d.agent_version),
           os_version     = COALESCE(NULLIF(u.os_version, ''), d.os_version),
           status         = CASE WHEN d.status IN ('pending', 'stale') THEN 'active'::device_status ELSE d.status END
      FROM unnest(p_device_ids, p_seen_at, p_agent_versions, p_os_versions)
               AS u(device_id, seen_at, agent_version, os_version)
     WHERE d.id = u.device_id
       AND u.seen_at IS NOT NULL
       AND d.status NOT IN ('disabled', 'decommissioned');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION device_auth_lookup(text) IS
    'Device authentication: certificate state, device and owner for a client certificate SHA-256 fingerprint.';
COMMENT ON FUNCTION device_record_heartbeats(bigint[], timestamptz[], text[], text[]) IS
    'Flush of coalesced device heartbeats: last_heartbeat, versions, pending/stale -> active.';

REVOKE ALL ON FUNCTION device_auth_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION device_record_heartbeats(bigint[], timestamptz[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    device_auth_lookup(text),
    device_record_heartbeats(bigint[], timestamptz[], text[], text[])
TO betblocker_api;

-- ---------------------------------------------------------------------------
-- Audit of devices: every INSERT and DELETE, and every UPDATE that changes
-- something other than last_heartbeat / updated_at. A heartbeat every five
-- minutes would otherwise add 288 audit rows per device per day that say
-- nothing about who changed what; status changes (pending -> active, stale,
-- disabled), versions, host name and owner stay audited.
-- (Trigger WHEN clauses cannot mention OLD in an INSERT trigger, hence two.)
-- ---------------------------------------------------------------------------
DROP TRIGGER trg_audit_devices ON devices;

CREATE TRIGGER trg_audit_devices
    AFTER INSERT OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION fn_audit_trigger();

CREATE TRIGGER trg_audit_devices_update
    AFTER UPDATE ON devices
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - ARRAY['last_heartbeat', 'updated_at']) IS DISTINCT FROM
          (to_jsonb(NEW) - ARRAY['last_heartbeat', 'updated_at']))
    EXECUTE FUNCTION fn_audit_trigger();
