/** Package-internal hooks the `RedisAdmission` uses on the stores (not exported). */
export const kFallback = Symbol("alloovium.redis.fallback");
export const kFallbackAll = Symbol("alloovium.redis.fallback-all");
export const kInternals = Symbol("alloovium.redis.internals");
