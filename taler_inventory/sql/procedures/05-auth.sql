-- Authorization inside an operation's own round trip.
--
-- The permission model stays in Python (auth.SCOPES): the caller passes the
-- stored scopes that grant the permission it needs, and this function only
-- resolves the instance and the token.  Hot endpoints call it first thing in
-- their procedure, so a request costs one round trip instead of two.  The legacy
-- form (the instance password as a bearer token) reaches here as the internal token
-- Python adopted it into (api/legacy_credentials.py).

CREATE OR REPLACE FUNCTION authorize(
   in_instance_id TEXT, in_token_hash BYTEA, in_scopes TEXT[], in_now INT8,
   OUT out_status TEXT, OUT out_instance_serial INT8, OUT out_max_lock_duration INT8,
   OUT out_default_pay_delay INT8)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  a RECORD;
BEGIN
  SELECT i.instance_serial, i.max_lock_duration, i.default_pay_delay, i.auth_method,
         t.scope, t.expiration
    INTO a
    FROM instances i
    LEFT JOIN tokens t
      ON t.token_hash = in_token_hash AND t.instance_serial = i.instance_serial
   WHERE i.instance_id = in_instance_id AND NOT i.deleted;
  IF NOT FOUND THEN
    out_status := 'unknown_instance';  -- resolved before the credentials
    RETURN;
  END IF;
  out_instance_serial := a.instance_serial;
  out_max_lock_duration := a.max_lock_duration;
  out_default_pay_delay := a.default_pay_delay;
  IF a.auth_method = 'external' THEN
    out_status := 'ok';  -- a gateway in front authenticates; we check nothing
  ELSIF a.scope IS NULL OR a.expiration <= in_now THEN
    out_status := 'unauthorized';
  ELSIF NOT (a.scope = ANY(in_scopes)) THEN
    out_status := 'forbidden';
  ELSE
    out_status := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION authorize(TEXT, BYTEA, TEXT[], INT8)
  IS 'Resolve an instance and check a token against the scopes that grant a permission.  Status: ok, unknown_instance, unauthorized, forbidden.';
