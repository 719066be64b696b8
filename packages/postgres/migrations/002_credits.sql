-- The credits ledger: append-only, one entry per grant, charge, refund and top-up. A tenant's
-- balance (credit_balances) and hourly usage (credit_usage) are kept in the same transaction as
-- each entry, so that the balance always equals the sum of the tenant's entries.
CREATE TABLE {{schema}}.credit_ledger (
  -- The order entries were recorded in.
  seq         bigint GENERATED ALWAYS AS IDENTITY,
  tenant_id   text NOT NULL,
  id          text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('grant', 'charge', 'refund', 'topup')),
  amount      bigint NOT NULL CHECK ((kind = 'charge' AND amount <= 0) OR (kind <> 'charge' AND amount >= 0)),
  capability  text,
  reservation text,
  at_ms       bigint NOT NULL,
  -- The usage hour the entry counts in: a charge's own hour; a refund's is its charge's.
  hour_ms     bigint NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX credit_ledger_order ON {{schema}}.credit_ledger (tenant_id, seq);

CREATE TABLE {{schema}}.credit_balances (
  tenant_id text PRIMARY KEY,
  balance   bigint NOT NULL
);

CREATE TABLE {{schema}}.credit_usage (
  tenant_id  text NOT NULL,
  hour_ms    bigint NOT NULL,
  capability text NOT NULL,
  calls      bigint NOT NULL,
  credits    bigint NOT NULL,
  PRIMARY KEY (tenant_id, hour_ms, capability)
);
CREATE INDEX credit_usage_hour ON {{schema}}.credit_usage (hour_ms);

CREATE FUNCTION {{schema}}.now_ms() RETURNS double precision LANGUAGE sql VOLATILE AS
$$ SELECT extract(epoch FROM clock_timestamp())::double precision * 1000 $$;

-- The tenant's balance row, created at the grant (with its ledger entry) when absent; locked.
CREATE FUNCTION {{schema}}.credit_open(p_tenant text, p_grant bigint, p_now bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  b bigint;
BEGIN
  SELECT balance INTO b FROM {{schema}}.credit_balances WHERE tenant_id = p_tenant FOR UPDATE;
  IF FOUND THEN RETURN b; END IF;
  INSERT INTO {{schema}}.credit_balances (tenant_id, balance) VALUES (p_tenant, p_grant) ON CONFLICT DO NOTHING;
  IF FOUND THEN
    INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
      VALUES (p_tenant, 'grant:' || p_tenant, 'grant', p_grant, NULL, NULL, p_now, p_now - p_now % 3600000) ON CONFLICT DO NOTHING;
  END IF;
  SELECT balance INTO b FROM {{schema}}.credit_balances WHERE tenant_id = p_tenant FOR UPDATE;
  RETURN b;
END $$;

-- A charge: taken only if the balance holds it (never below zero), recorded in the ledger under
-- its reservation id and counted in the hour of the database's clock. Returns
-- (allowed, balance, charged, hour_ms).
CREATE FUNCTION {{schema}}.credit_charge(p_tenant text, p_capability text, p_credits bigint, p_grant bigint, p_reservation text,
  OUT allowed boolean, OUT bal bigint, OUT charged bigint, OUT hr bigint) LANGUAGE plpgsql AS $$
DECLARE
  now_ms bigint := floor({{schema}}.now_ms());
  b bigint;
BEGIN
  hr := now_ms - now_ms % 3600000;
  b := {{schema}}.credit_open(p_tenant, p_grant, now_ms);
  IF b < p_credits THEN
    allowed := false; bal := b; charged := 0; RETURN;
  END IF;
  INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
    VALUES (p_tenant, COALESCE(p_reservation, gen_random_uuid()::text), 'charge', -p_credits, p_capability, p_reservation, now_ms, hr)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    -- This reservation was charged already: nothing taken again.
    allowed := true; bal := b; charged := 0; RETURN;
  END IF;
  UPDATE {{schema}}.credit_balances SET balance = credit_balances.balance - p_credits WHERE tenant_id = p_tenant RETURNING credit_balances.balance INTO bal;
  INSERT INTO {{schema}}.credit_usage AS u (tenant_id, hour_ms, capability, calls, credits) VALUES (p_tenant, hr, p_capability, 1, p_credits)
    ON CONFLICT (tenant_id, hour_ms, capability) DO UPDATE SET calls = u.calls + 1, credits = u.credits + excluded.credits;
  allowed := true; charged := p_credits;
END $$;

-- A refund. With a reservation: of that charge only, at most its amount, at most once (a second
-- refund, or one naming no recorded charge, gives nothing). Without one (a caller that keeps no
-- reservation ids): p_credits back, off the usage of p_hour. Returns the balance after it.
CREATE FUNCTION {{schema}}.credit_refund(p_tenant text, p_capability text, p_credits bigint, p_hour bigint, p_grant bigint, p_reservation text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  now_ms bigint := floor({{schema}}.now_ms());
  b bigint;
  c {{schema}}.credit_ledger;
  amount bigint := p_credits;
  hr bigint := p_hour;
  cap text := p_capability;
BEGIN
  b := {{schema}}.credit_open(p_tenant, p_grant, now_ms);
  IF p_reservation IS NOT NULL THEN
    SELECT * INTO c FROM {{schema}}.credit_ledger WHERE tenant_id = p_tenant AND id = p_reservation AND kind = 'charge';
    IF NOT FOUND THEN RETURN b; END IF;
    amount := LEAST(p_credits, -c.amount);
    hr := c.hour_ms;
    cap := c.capability;
  END IF;
  IF amount <= 0 THEN RETURN b; END IF;
  INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
    VALUES (p_tenant, 'refund:' || COALESCE(p_reservation, gen_random_uuid()::text), 'refund', amount, cap, p_reservation, now_ms, hr)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN RETURN b; END IF;
  UPDATE {{schema}}.credit_balances SET balance = balance + amount WHERE tenant_id = p_tenant RETURNING balance INTO b;
  UPDATE {{schema}}.credit_usage SET credits = credits - amount WHERE tenant_id = p_tenant AND hour_ms = hr AND capability = cap;
  RETURN b;
END $$;

-- A top-up under a fresh id. Returns the balance after it.
CREATE FUNCTION {{schema}}.credit_add(p_tenant text, p_credits bigint, p_grant bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  now_ms bigint := floor({{schema}}.now_ms());
  b bigint;
BEGIN
  PERFORM {{schema}}.credit_open(p_tenant, p_grant, now_ms);
  INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
    VALUES (p_tenant, 'topup:' || gen_random_uuid()::text, 'topup', p_credits, NULL, NULL, now_ms, now_ms - now_ms % 3600000);
  UPDATE {{schema}}.credit_balances SET balance = balance + p_credits WHERE tenant_id = p_tenant RETURNING balance INTO b;
  RETURN b;
END $$;

-- Appends a batch of entries written elsewhere (a fast store's flush) in one statement: ids
-- already recorded are skipped; a refund counts in its charge's hour when that charge is known,
-- and never exceeds it. Returns how many entries were new.
CREATE FUNCTION {{schema}}.ledger_append(p_ids text[], p_tenants text[], p_kinds text[], p_amounts bigint[], p_capabilities text[], p_reservations text[], p_ats bigint[])
RETURNS bigint LANGUAGE sql AS $$
  WITH input AS (
    SELECT DISTINCT ON (u.tenant_id, u.id) u.* FROM unnest(p_ids, p_tenants, p_kinds, p_amounts, p_capabilities, p_reservations, p_ats)
      AS u(id, tenant_id, kind, amount, capability, reservation, at_ms)
  ), shaped AS (
    SELECT i.id, i.tenant_id, i.kind,
      CASE WHEN i.kind = 'refund' THEN LEAST(i.amount, COALESCE(-c.amount, -b.amount, i.amount)) ELSE i.amount END AS amount,
      i.capability, i.reservation, i.at_ms,
      CASE WHEN i.kind = 'refund' THEN COALESCE(c.hour_ms, b.at_ms - b.at_ms % 3600000, i.at_ms - i.at_ms % 3600000) ELSE i.at_ms - i.at_ms % 3600000 END AS hour_ms
    FROM input i
    LEFT JOIN {{schema}}.credit_ledger c ON i.kind = 'refund' AND c.tenant_id = i.tenant_id AND c.id = i.reservation AND c.kind = 'charge'
    LEFT JOIN input b ON i.kind = 'refund' AND b.tenant_id = i.tenant_id AND b.id = i.reservation AND b.kind = 'charge'
  ), ins AS (
    INSERT INTO {{schema}}.credit_ledger (tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms)
      SELECT tenant_id, id, kind, amount, capability, reservation, at_ms, hour_ms FROM shaped ORDER BY tenant_id, id
      ON CONFLICT DO NOTHING RETURNING tenant_id, kind, amount, capability, hour_ms
  ), bal AS (
    INSERT INTO {{schema}}.credit_balances AS cb (tenant_id, balance)
      SELECT tenant_id, sum(amount) FROM ins GROUP BY tenant_id ORDER BY tenant_id
      ON CONFLICT (tenant_id) DO UPDATE SET balance = cb.balance + excluded.balance
  ), use AS (
    INSERT INTO {{schema}}.credit_usage AS u (tenant_id, hour_ms, capability, calls, credits)
      SELECT tenant_id, hour_ms, capability, count(*) FILTER (WHERE kind = 'charge'), -sum(amount)
        FROM ins WHERE kind IN ('charge', 'refund') AND capability IS NOT NULL
        GROUP BY tenant_id, hour_ms, capability ORDER BY tenant_id, hour_ms, capability
      ON CONFLICT (tenant_id, hour_ms, capability) DO UPDATE SET calls = u.calls + excluded.calls, credits = u.credits + excluded.credits
  )
  SELECT count(*) FROM ins
$$;
