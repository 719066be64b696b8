import { policyError, type PolicyError } from "../problems/problem";

/**
 * 402 `insufficient_credits`: the call's price is above the tenant's balance (nothing was charged).
 * @example insufficientCredits(5, 3) // detail "This operation costs 5 credits and the balance is 3."
 */
export function insufficientCredits(required: number, balance: number): PolicyError {
  return policyError(
    "insufficient_credits",
    `This operation costs ${required} credit${required === 1 ? "" : "s"} and the balance is ${balance}.`,
    { balance, required },
  );
}
