-- Token buckets, on the database's clock. UNLOGGED: a crash loses them, which only refills
-- buckets. full_ms is when a bucket is full again: past it, the row is dropped by the sweep.
-- No index but the key, and room left in each page, so that an update is a HOT update (no
-- index entry written): the sweep scans the table instead, once a minute.
CREATE UNLOGGED TABLE {{schema}}.buckets (
  tenant_id text NOT NULL,
  id        text NOT NULL,
  tokens    double precision NOT NULL,
  at_ms     double precision NOT NULL,
  full_ms   double precision NOT NULL,
  -- Whether the last step took its cost (read back by the one-bucket upsert).
  taken     boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, id)
) WITH (fillfactor = 50);

-- One bucket in one statement: an upsert that refills and takes the cost, on the database's
-- clock. A refused step writes the refilled tokens at the same time, which is the same bucket.
-- Returns whether it was taken and the tokens after it.
CREATE FUNCTION {{schema}}.bucket_one(p_tenant text, p_id text, p_cost double precision, p_capacity double precision, p_rate double precision,
  OUT allowed boolean, OUT after double precision) LANGUAGE plpgsql AS $$
DECLARE
  now_ms double precision := extract(epoch FROM clock_timestamp()) * 1000;
BEGIN
  INSERT INTO {{schema}}.buckets AS b (tenant_id, id, tokens, at_ms, full_ms, taken)
    VALUES (p_tenant, p_id, CASE WHEN p_capacity + 1e-9 >= p_cost THEN GREATEST(0, p_capacity - p_cost) ELSE p_capacity END, now_ms,
      now_ms + (CASE WHEN p_capacity + 1e-9 >= p_cost THEN LEAST(p_capacity, p_cost) ELSE 0 END) * 1000 / p_rate, p_capacity + 1e-9 >= p_cost)
    ON CONFLICT (tenant_id, id) DO UPDATE SET
      tokens = CASE WHEN LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) + 1e-9 >= p_cost
        THEN GREATEST(0, LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) - p_cost)
        ELSE LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) END,
      taken = LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) + 1e-9 >= p_cost,
      at_ms = GREATEST(b.at_ms, now_ms),
      full_ms = GREATEST(b.at_ms, now_ms) + (p_capacity - CASE WHEN LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) + 1e-9 >= p_cost
        THEN GREATEST(0, LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) - p_cost)
        ELSE LEAST(p_capacity, b.tokens + GREATEST(0, now_ms - b.at_ms) * p_rate / 1000) END) * 1000 / p_rate
    RETURNING b.taken, b.tokens INTO allowed, after;
END $$;

-- Takes p_cost from every bucket named (all or none), locking them in a fixed order. Returns
-- whether it was taken and the tokens each holds after the step, in the order given.
CREATE FUNCTION {{schema}}.bucket_take(p_tenant text, p_ids text[], p_cost double precision, p_capacities double precision[], p_rates double precision[],
  OUT allowed boolean, OUT after double precision[]) LANGUAGE plpgsql AS $$
DECLARE
  n integer := array_length(p_ids, 1);
  now_ms double precision;
  held double precision[];
  t double precision;
  r record;
  i integer;
BEGIN
  IF n = 1 THEN
    SELECT o.allowed, ARRAY[o.after] INTO allowed, after FROM {{schema}}.bucket_one(p_tenant, p_ids[1], p_cost, p_capacities[1], p_rates[1]) o;
    RETURN;
  END IF;
  INSERT INTO {{schema}}.buckets (tenant_id, id, tokens, at_ms, full_ms)
    SELECT p_tenant, x.id, x.cap, 0, 0 FROM unnest(p_ids, p_capacities) AS x(id, cap) ORDER BY x.id
    ON CONFLICT DO NOTHING;
  PERFORM 1 FROM {{schema}}.buckets WHERE tenant_id = p_tenant AND id = ANY (p_ids) ORDER BY id FOR UPDATE;
  now_ms := extract(epoch FROM clock_timestamp()) * 1000;
  held := array_fill(0::double precision, ARRAY[n]);
  allowed := true;
  FOR i IN 1..n LOOP
    SELECT tokens, at_ms INTO r FROM {{schema}}.buckets WHERE tenant_id = p_tenant AND id = p_ids[i];
    IF now_ms > r.at_ms THEN t := LEAST(p_capacities[i], r.tokens + (now_ms - r.at_ms) * p_rates[i] / 1000);
    ELSE t := LEAST(p_capacities[i], r.tokens); END IF;
    held[i] := t;
    IF t + 1e-9 < p_cost THEN allowed := false; END IF;
  END LOOP;
  after := held;
  IF allowed AND p_cost > 0 THEN
    FOR i IN 1..n LOOP
      t := GREATEST(0, held[i] - p_cost);
      after[i] := t;
      UPDATE {{schema}}.buckets SET tokens = t, at_ms = GREATEST(at_ms, now_ms),
        full_ms = GREATEST(at_ms, now_ms) + (p_capacities[i] - t) * 1000 / p_rates[i]
        WHERE tenant_id = p_tenant AND id = p_ids[i];
    END LOOP;
  END IF;
END $$;

-- Idempotency records (logged: a replay must survive a restart). A record is live until until_ms
-- (the lease of an in-flight one, the TTL of a completed one); past it, it is absent, and the
-- sweep deletes it. token is a fencing token from one sequence: a later claim's is greater.
CREATE TABLE {{schema}}.idempotency (
  tenant_id   text NOT NULL,
  scope       text NOT NULL,
  key         text NOT NULL,
  state       text NOT NULL CHECK (state IN ('in_flight', 'completed')),
  fingerprint text NOT NULL,
  token       bigint NOT NULL,
  until_ms    double precision NOT NULL,
  status      integer,
  headers     jsonb,
  body        text,
  PRIMARY KEY (tenant_id, scope, key)
);
CREATE INDEX idempotency_until ON {{schema}}.idempotency (until_ms);
CREATE SEQUENCE {{schema}}.idempotency_tokens AS bigint;

-- A claim: absent or expired -> a new in-flight record (outcome 'claimed' and its token); live ->
-- 'mismatch' (other fingerprint), 'completed' (with the response) or 'in_flight'.
CREATE FUNCTION {{schema}}.idem_claim(p_tenant text, p_scope text, p_key text, p_fingerprint text, p_lease_ms double precision,
  OUT outcome text, OUT token bigint, OUT status integer, OUT headers jsonb, OUT body text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now_ms double precision := {{schema}}.now_ms();
  r {{schema}}.idempotency;
BEGIN
  INSERT INTO {{schema}}.idempotency AS i (tenant_id, scope, key, state, fingerprint, token, until_ms)
    VALUES (p_tenant, p_scope, p_key, 'in_flight', p_fingerprint, nextval('{{schema}}.idempotency_tokens'), now_ms + p_lease_ms)
    ON CONFLICT (tenant_id, scope, key) DO UPDATE SET state = 'in_flight', fingerprint = excluded.fingerprint, token = excluded.token,
      until_ms = excluded.until_ms, status = NULL, headers = NULL, body = NULL
      WHERE i.until_ms <= now_ms
    RETURNING i.token INTO token;
  IF FOUND THEN outcome := 'claimed'; RETURN; END IF;
  SELECT * INTO r FROM {{schema}}.idempotency WHERE tenant_id = p_tenant AND scope = p_scope AND key = p_key;
  token := NULL;
  IF r.fingerprint <> p_fingerprint THEN outcome := 'mismatch';
  ELSIF r.state = 'completed' THEN outcome := 'completed'; status := r.status; headers := r.headers; body := r.body;
  ELSE outcome := 'in_flight'; END IF;
END $$;

-- The admission: the bucket(s), then (only if allowed) the claim, then (when metered) the charge,
-- in one call and one transaction, with core's composeAdmission semantics.
CREATE FUNCTION {{schema}}.admit(p_tenant text, p_ids text[], p_cost double precision, p_capacities double precision[], p_rates double precision[],
  p_scope text, p_key text, p_fingerprint text, p_lease_ms double precision,
  p_capability text, p_credits bigint, p_grant bigint, p_reservation text,
  OUT allowed boolean, OUT after double precision[], OUT claim_outcome text, OUT claim_token bigint, OUT claim_status integer, OUT claim_headers jsonb,
  OUT claim_body text, OUT credits_outcome text, OUT balance bigint, OUT charged bigint, OUT hour_ms bigint) LANGUAGE plpgsql AS $$
DECLARE
  b record;
  c record;
  ch record;
  price bigint;
BEGIN
  SELECT * INTO b FROM {{schema}}.bucket_take(p_tenant, p_ids, p_cost, p_capacities, p_rates);
  allowed := b.allowed; after := b.after;
  IF NOT allowed THEN
    IF p_capability IS NOT NULL THEN
      credits_outcome := 'balance';
      SELECT cb.balance INTO balance FROM {{schema}}.credit_balances cb WHERE cb.tenant_id = p_tenant;
      balance := COALESCE(balance, p_grant);
    END IF;
    RETURN;
  END IF;
  IF p_key IS NOT NULL THEN
    SELECT * INTO c FROM {{schema}}.idem_claim(p_tenant, p_scope, p_key, p_fingerprint, p_lease_ms);
    claim_outcome := c.outcome; claim_token := c.token; claim_status := c.status; claim_headers := c.headers; claim_body := c.body;
  END IF;
  IF p_capability IS NULL THEN RETURN; END IF;
  IF claim_outcome IN ('in_flight', 'mismatch') THEN
    credits_outcome := 'balance';
    SELECT cb.balance INTO balance FROM {{schema}}.credit_balances cb WHERE cb.tenant_id = p_tenant;
    balance := COALESCE(balance, p_grant);
    RETURN;
  END IF;
  price := CASE WHEN claim_outcome = 'completed' THEN 0 ELSE p_credits END; -- a replay is never charged again
  SELECT * INTO ch FROM {{schema}}.credit_charge(p_tenant, p_capability, price, p_grant, p_reservation);
  balance := ch.bal;
  IF NOT ch.allowed THEN
    credits_outcome := 'insufficient';
    IF claim_outcome = 'claimed' THEN
      DELETE FROM {{schema}}.idempotency i WHERE i.tenant_id = p_tenant AND i.scope = p_scope AND i.key = p_key AND i.token = claim_token;
      claim_outcome := NULL; claim_token := NULL;
    END IF;
    RETURN;
  END IF;
  credits_outcome := 'charged'; charged := ch.charged; hour_ms := ch.hr;
END $$;

-- Deletes up to p_limit expired rows of each table, skipping rows a request holds: never blocks one.
CREATE FUNCTION {{schema}}.sweep(p_limit integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  now_ms double precision := {{schema}}.now_ms();
  n bigint := 0;
  m bigint;
BEGIN
  DELETE FROM {{schema}}.buckets WHERE ctid IN (SELECT ctid FROM {{schema}}.buckets WHERE full_ms < now_ms LIMIT p_limit FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS m = ROW_COUNT; n := n + m;
  DELETE FROM {{schema}}.idempotency WHERE ctid IN (SELECT ctid FROM {{schema}}.idempotency WHERE until_ms <= now_ms LIMIT p_limit FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS m = ROW_COUNT; n := n + m;
  RETURN n;
END $$;
