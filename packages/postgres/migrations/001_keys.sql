-- API key records. The full record is kept as given (jsonb); the columns beside it are what
-- lookups, the list order, the active-key count and the patch guards read. Only the keyed
-- digest of a raw key is ever stored.
CREATE TABLE {{schema}}.api_keys (
  tenant_id    text NOT NULL,
  id           text COLLATE "C" NOT NULL,
  digest       text NOT NULL,
  created_ms   bigint NOT NULL,
  expires_ms   bigint,
  revoked      boolean NOT NULL,
  successor_id text,
  -- The later of the record's own last_used_at and every touch (ISO 8601, and in ms to compare).
  last_used_at text,
  last_used_ms double precision,
  record       jsonb NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
-- A request finds its key by digest alone, and a key id names one key whatever the tenant.
CREATE UNIQUE INDEX api_keys_digest ON {{schema}}.api_keys (digest);
CREATE UNIQUE INDEX api_keys_id ON {{schema}}.api_keys (id);
-- Newest first, paged inside the database.
CREATE INDEX api_keys_newest ON {{schema}}.api_keys (tenant_id, created_ms DESC, id DESC);

-- Inserts a record unless its id or digest is stored; with p_max, only while the tenant holds
-- fewer than p_max active keys at p_now_ms (decided under a per-tenant lock).
CREATE FUNCTION {{schema}}.key_insert(p_tenant text, p_id text, p_digest text, p_created_ms bigint, p_expires_ms bigint, p_revoked boolean,
  p_successor text, p_last_used_at text, p_last_used_ms double precision, p_record jsonb, p_max integer, p_now_ms bigint, p_channel text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  active integer;
BEGIN
  IF p_max IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('alloovium-keys:' || p_channel || ':' || p_tenant, 0));
    IF EXISTS (SELECT 1 FROM {{schema}}.api_keys WHERE id = p_id OR digest = p_digest) THEN RETURN 'exists'; END IF;
    SELECT count(*) INTO active FROM {{schema}}.api_keys
      WHERE tenant_id = p_tenant AND NOT revoked AND (expires_ms IS NULL OR expires_ms > p_now_ms);
    IF active >= p_max THEN RETURN 'limit_reached'; END IF;
  END IF;
  INSERT INTO {{schema}}.api_keys (tenant_id, id, digest, created_ms, expires_ms, revoked, successor_id, last_used_at, last_used_ms, record)
    VALUES (p_tenant, p_id, p_digest, p_created_ms, p_expires_ms, p_revoked, p_successor, p_last_used_at, p_last_used_ms, p_record)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN RETURN 'exists'; END IF;
  PERFORM pg_notify(p_channel, p_digest);
  RETURN 'inserted';
END $$;

-- The patch rules of core's applyKeyPatch, against the row as it is (locked): one successor per
-- key, the first revocation stands, expiry only moves earlier, guards. NULL when the tenant has
-- no such key; else {applied, record, last_used_at}.
CREATE FUNCTION {{schema}}.key_patch(p_tenant text, p_id text, p_name text, p_scopes text[], p_revoked_at text, p_expires_by text, p_expires_by_ms bigint,
  p_successor text, p_guard boolean, g_expires_at text, g_revoked_at text, g_name text, g_scopes text[], p_within text[], p_channel text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r {{schema}}.api_keys;
  rec jsonb;
  changed boolean := false;
  new_expires_ms bigint;
BEGIN
  SELECT * INTO r FROM {{schema}}.api_keys WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  rec := r.record;
  new_expires_ms := r.expires_ms;
  IF p_guard AND ((rec->>'expires_at') IS DISTINCT FROM g_expires_at OR (rec->>'revoked_at') IS DISTINCT FROM g_revoked_at
      OR (g_name IS NOT NULL AND g_name IS DISTINCT FROM rec->>'name') OR (g_scopes IS NOT NULL AND to_jsonb(g_scopes) IS DISTINCT FROM rec->'scopes')) THEN
    RETURN jsonb_build_object('applied', false, 'record', rec, 'last_used_at', r.last_used_at);
  END IF;
  IF p_successor IS NOT NULL AND (rec->>'successor_id') IS NOT NULL THEN
    RETURN jsonb_build_object('applied', false, 'record', rec, 'last_used_at', r.last_used_at);
  END IF;
  IF p_within IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(rec->'scopes') AS s(scope) WHERE NOT (s.scope = ANY (p_within))) THEN
    RETURN jsonb_build_object('applied', false, 'record', rec, 'last_used_at', r.last_used_at);
  END IF;
  IF p_name IS NOT NULL AND p_name IS DISTINCT FROM rec->>'name' THEN
    rec := jsonb_set(rec, '{name}', to_jsonb(p_name)); changed := true;
  END IF;
  IF p_scopes IS NOT NULL AND to_jsonb(p_scopes) IS DISTINCT FROM rec->'scopes' THEN
    rec := jsonb_set(rec, '{scopes}', to_jsonb(p_scopes)); changed := true;
  END IF;
  IF p_revoked_at IS NOT NULL AND (rec->>'revoked_at') IS NULL THEN
    rec := jsonb_set(rec, '{revoked_at}', to_jsonb(p_revoked_at)); changed := true;
  END IF;
  IF p_expires_by IS NOT NULL AND ((rec->>'expires_at') IS NULL OR p_expires_by_ms < r.expires_ms) THEN
    rec := jsonb_set(rec, '{expires_at}', to_jsonb(p_expires_by)); new_expires_ms := p_expires_by_ms; changed := true;
  END IF;
  IF p_successor IS NOT NULL THEN
    rec := rec || jsonb_build_object('successor_id', p_successor); changed := true;
  END IF;
  IF changed THEN
    UPDATE {{schema}}.api_keys SET record = rec, expires_ms = new_expires_ms, revoked = (rec->>'revoked_at') IS NOT NULL, successor_id = rec->>'successor_id'
      WHERE tenant_id = p_tenant AND id = p_id;
    PERFORM pg_notify(p_channel, r.digest);
  END IF;
  RETURN jsonb_build_object('applied', changed, 'record', rec, 'last_used_at', r.last_used_at);
END $$;
