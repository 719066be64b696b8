import { BARE_CHALLENGE } from "../problems/challenge";
import { policyError, type PolicyError } from "../problems/problem";
import type { Environment } from "./api-key";

/**
 * 403 `environment_mismatch`: a live key sent to a test deployment (test keys reach test data only,
 * and a test deployment takes test keys only). The challenge carries no `error` (RFC 6750 3.1).
 */
export function environmentMismatch(deployment: Environment): PolicyError {
  return policyError("environment_mismatch", "Live keys cannot be used against a test deployment; use an ak_test_ key.", { environment: deployment }, BARE_CHALLENGE);
}

/**
 * The environment check: a test deployment refuses live keys (403 `environment_mismatch`); OAuth
 * tokens (`keyEnvironment` undefined) and matching keys pass.
 */
export function checkEnvironment(keyEnvironment: Environment | undefined, deployment: Environment): PolicyError | null {
  return keyEnvironment === "live" && deployment === "test" ? environmentMismatch(deployment) : null;
}
