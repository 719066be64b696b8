-- Hardening of 002 and 003 (a new file, so that a schema migrated before is brought up to it):
-- the admission bounds its own lock waits, a refund must name its charge and happens once per
-- charge, the ledger append holds back what it cannot apply yet, and the sweep works one table
-- per call.

-- The admission, with the longest a lock may be waited for (ms), below the caller's timeout.
DROP FUNCTION {{schema}}.admit(text, text[], double precision, double precision[], double precision[], text, text, text, double precision, text, bigint, bigint, text);
CREATE FUNCTION {{schema}}.admit(p_tenant text, p_ids text[], p_cost double precision, p_capacities double precision[], p_rates double precision[],
  p_scope text, p_key text, p_fingerprint text, p_lease_ms double precision,
  p_capability text, p_credits bigint, p_grant bigint, p_reservation text, p_wait_ms integer,
  OUT allowed boolean, OUT after double precision[], OUT claim_outcome text, OUT claim_token bigint, OUT claim_status integer, OUT claim_headers jsonb,
  OUT claim_body text, OUT credits_outcome text, OUT balance bigint, OUT charged bigint, OUT hour_ms bigint) LANGUAGE plpgsql AS $$
DECLARE
  b record;
  c record;
  ch record;
  price bigint;
BEGIN
  -- A lock wait (a balance, bucket or claim row held by another transaction) ends here, before the
  -- caller's own timeout: the transaction then rolls back, so a client that gave up on it never
  -- finds it applied later. statement_timeout cannot do this from inside the statement.
  IF p_wait_ms IS NOT NULL THEN PERFORM set_config('lock_timeout', p_wait_ms || 'ms', true); END IF;
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


-- A refund names its charge: without a reservation there is nothing to refund.
CREATE OR REPLACE FUNCTION {{schema}}.credit_refund(p_tenant text, p_capability text, p_credits bigint, p_hour bigint, p_grant bigint, p_reservation text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  now_ms bigint := floor({{schema}}.now_ms());
  b bigint;
  c {{schema}}.credit_ledger;
  amount bigint;
BEGIN
  b := {{schema}}.credit_open(p_tenant, p_grant, now_ms);
  IF p_reservation IS NULL THEN RETURN b; END IF;
  SELECT * INTO c FROM {{schema}}.credit_ledger WHERE tenant_id = p_tenant AND id = p_reservation AND kind = 'charge';
  IF NOT FOUND THEN RETURN b; END IF;
  amount := LEAST(p_credits, -c.amount);
  IF amount <= 0 THEN RETURN b; END IF;
  INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
    VALUES (p_tenant, 'refund:' || p_reservation, 'refund', amount, c.capability, p_reservation, now_ms, c.hour_ms)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN RETURN b; END IF;
  UPDATE {{schema}}.credit_balances SET balance = balance + amount WHERE tenant_id = p_tenant RETURNING balance INTO b;
  UPDATE {{schema}}.credit_usage SET credits = credits - amount WHERE tenant_id = p_tenant AND hour_ms = c.hour_ms AND capability = c.capability;
  RETURN b;
END $$;

-- At most one refund per charge, whatever its id (a flush's and the store's ids differ).
CREATE UNIQUE INDEX credit_ledger_one_refund ON {{schema}}.credit_ledger (tenant_id, reservation) WHERE kind = 'refund';

-- Entries an append could not apply yet: a refund whose charge is not recorded, or any entry of
-- a tenant whose grant is not. They count in no balance; each later append of the tenant applies
-- those it now can (a refund capped at its charge then). Not part of the ledger until applied.
CREATE TABLE {{schema}}.ledger_pending (
  tenant_id   text NOT NULL,
  id          text NOT NULL,
  kind        text NOT NULL,
  amount      bigint NOT NULL,
  capability  text,
  reservation text,
  at_ms       bigint NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- One entry written elsewhere: 'recorded', 'duplicate' (its id, or a refund of its charge, is
-- recorded already) or 'held' (it cannot be applied yet; see ledger_pending). The caller holds
-- the tenant's balance row when it exists. A charge takes at most the balance (never below zero);
-- a refund at most its charge, in its charge's hour and capability.
CREATE FUNCTION {{schema}}.ledger_entry(p_tenant text, p_id text, p_kind text, p_amount bigint, p_capability text, p_reservation text, p_at bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  b bigint;
  c {{schema}}.credit_ledger;
  amt bigint := p_amount;
  hr bigint := p_at - p_at % 3600000;
  cap text := p_capability;
BEGIN
  PERFORM 1 FROM {{schema}}.credit_ledger WHERE tenant_id = p_tenant AND id = p_id;
  IF FOUND THEN RETURN 'duplicate'; END IF;
  IF p_kind = 'refund' THEN
    PERFORM 1 FROM {{schema}}.credit_ledger WHERE tenant_id = p_tenant AND kind = 'refund' AND reservation = p_reservation;
    IF FOUND THEN RETURN 'duplicate'; END IF;
  END IF;
  SELECT balance INTO b FROM {{schema}}.credit_balances WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    -- A tenant first seen here: only its grant opens its balance.
    IF p_kind <> 'grant' THEN RETURN 'held'; END IF;
    INSERT INTO {{schema}}.credit_balances (tenant_id, balance) VALUES (p_tenant, 0) ON CONFLICT DO NOTHING;
    SELECT balance INTO b FROM {{schema}}.credit_balances WHERE tenant_id = p_tenant FOR UPDATE;
  END IF;
  IF p_kind = 'charge' THEN
    amt := -LEAST(-p_amount, GREATEST(b, 0));
  ELSIF p_kind = 'refund' THEN
    SELECT * INTO c FROM {{schema}}.credit_ledger WHERE tenant_id = p_tenant AND id = p_reservation AND kind = 'charge';
    IF NOT FOUND THEN RETURN 'held'; END IF;
    amt := LEAST(p_amount, -c.amount); hr := c.hour_ms; cap := c.capability;
  END IF;
  INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
    VALUES (p_tenant, p_id, p_kind, amt, cap, p_reservation, p_at, hr) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN RETURN 'duplicate'; END IF;
  UPDATE {{schema}}.credit_balances SET balance = balance + amt WHERE tenant_id = p_tenant;
  IF p_kind IN ('charge', 'refund') AND cap IS NOT NULL THEN
    INSERT INTO {{schema}}.credit_usage AS u (tenant_id, hour_ms, capability, calls, credits)
      VALUES (p_tenant, hr, cap, CASE WHEN p_kind = 'charge' THEN 1 ELSE 0 END, -amt)
      ON CONFLICT (tenant_id, hour_ms, capability) DO UPDATE SET calls = u.calls + excluded.calls, credits = u.credits + excluded.credits;
  END IF;
  RETURN 'recorded';
END $$;

-- Appends a batch of entries written elsewhere (a fast store's flush) in one transaction, the
-- tenants' balance rows locked in a fixed order: grants first, then charges and top-ups, then
-- refunds; what cannot be applied yet is held back (ledger_pending), and the held entries of
-- every tenant in the batch are tried again after it. Returns how many entries were recorded.
DROP FUNCTION {{schema}}.ledger_append(text[], text[], text[], bigint[], text[], text[], bigint[]);
CREATE FUNCTION {{schema}}.ledger_append(p_ids text[], p_tenants text[], p_kinds text[], p_amounts bigint[], p_capabilities text[], p_reservations text[], p_ats bigint[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  e record;
  n bigint := 0;
  outcome text;
  tenants text[];
BEGIN
  SELECT array_agg(DISTINCT t ORDER BY t) INTO tenants FROM unnest(p_tenants) AS t;
  PERFORM 1 FROM {{schema}}.credit_balances WHERE tenant_id = ANY (tenants) ORDER BY tenant_id FOR UPDATE;
  FOR e IN
    WITH input AS (
      SELECT DISTINCT ON (u.tenant_id, u.id) u.* FROM unnest(p_ids, p_tenants, p_kinds, p_amounts, p_capabilities, p_reservations, p_ats)
        AS u(id, tenant_id, kind, amount, capability, reservation, at_ms)
      ORDER BY u.tenant_id, u.id
    )
    SELECT * FROM input ORDER BY tenant_id, CASE kind WHEN 'grant' THEN 0 WHEN 'refund' THEN 2 ELSE 1 END, at_ms, id
  LOOP
    outcome := {{schema}}.ledger_entry(e.tenant_id, e.id, e.kind, e.amount, e.capability, e.reservation, e.at_ms);
    IF outcome = 'recorded' THEN n := n + 1;
    ELSIF outcome = 'held' THEN
      INSERT INTO {{schema}}.ledger_pending (tenant_id, id, kind, amount, capability, reservation, at_ms)
        VALUES (e.tenant_id, e.id, e.kind, e.amount, e.capability, e.reservation, e.at_ms) ON CONFLICT DO NOTHING;
    END IF;
  END LOOP;
  FOR e IN
    SELECT * FROM {{schema}}.ledger_pending p WHERE p.tenant_id = ANY (tenants)
      ORDER BY p.tenant_id, CASE p.kind WHEN 'grant' THEN 0 WHEN 'refund' THEN 2 ELSE 1 END, p.at_ms, p.id
      FOR UPDATE SKIP LOCKED
  LOOP
    outcome := {{schema}}.ledger_entry(e.tenant_id, e.id, e.kind, e.amount, e.capability, e.reservation, e.at_ms);
    IF outcome <> 'held' THEN
      DELETE FROM {{schema}}.ledger_pending p WHERE p.tenant_id = e.tenant_id AND p.id = e.id;
      IF outcome = 'recorded' THEN n := n + 1; END IF;
    END IF;
  END LOOP;
  RETURN n;
END $$;

-- The sweep, one table per call (each call its own transaction, so no call holds one table's rows
-- while it deletes the other's): up to p_limit expired rows, skipping rows a request holds.
DROP FUNCTION {{schema}}.sweep(integer);
CREATE FUNCTION {{schema}}.sweep_buckets(p_limit integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  m bigint;
BEGIN
  DELETE FROM {{schema}}.buckets WHERE ctid IN (SELECT ctid FROM {{schema}}.buckets WHERE full_ms < {{schema}}.now_ms() LIMIT p_limit FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS m = ROW_COUNT;
  RETURN m;
END $$;
CREATE FUNCTION {{schema}}.sweep_idempotency(p_limit integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  m bigint;
BEGIN
  DELETE FROM {{schema}}.idempotency WHERE ctid IN (SELECT ctid FROM {{schema}}.idempotency WHERE until_ms <= {{schema}}.now_ms() LIMIT p_limit FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS m = ROW_COUNT;
  RETURN m;
END $$;
