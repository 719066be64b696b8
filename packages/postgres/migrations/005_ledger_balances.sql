-- The ledger append that answers each tenant's balance after the batch, in the same transaction
-- (the balance rows are still locked by the append): a fast store in front (Redis) checks its own
-- balances against them. Tenants without a balance row (every entry held back) are left out.
CREATE FUNCTION {{schema}}.ledger_append_balances(p_ids text[], p_tenants text[], p_kinds text[], p_amounts bigint[], p_capabilities text[], p_reservations text[], p_ats bigint[])
RETURNS TABLE (tenant_id text, balance bigint) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM {{schema}}.ledger_append(p_ids, p_tenants, p_kinds, p_amounts, p_capabilities, p_reservations, p_ats);
  RETURN QUERY SELECT cb.tenant_id, cb.balance FROM {{schema}}.credit_balances cb WHERE cb.tenant_id = ANY (p_tenants);
END $$;
