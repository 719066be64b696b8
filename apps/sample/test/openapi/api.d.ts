// Generated from the sample's OpenAPI document by openapi-typescript: `pnpm --filter @alloovium/sample-app openapi:types`.
// A test (typed-client.test.ts) fails when it is out of date.

export interface paths {
    "/api/v2/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Identity and capabilities of the calling credential.
         * @description Identity and capabilities of the calling credential. No scope needed. Costs 1 rate-limit token and 0 credits.
         */
        get: operations["meta.whoami"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/capabilities": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The capabilities of this API and whether the caller may use each.
         * @description The capabilities of this API and whether the caller may use each. No scope needed. Costs 1 rate-limit token and 0 credits.
         */
        get: operations["meta.capabilities"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/vault/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tenant's projects, newest first, cursor paginated.
         * @description The tenant's projects, newest first, cursor paginated. Scopes: vault:read. Costs 1 rate-limit token and 1 credit.
         */
        get: operations["vault.projects.list"];
        put?: never;
        /**
         * Creates a project (safe to retry with an Idempotency-Key).
         * @description Creates a project (safe to retry with an Idempotency-Key). Scopes: vault:write. Costs 2 rate-limit tokens and 2 credits.
         */
        post: operations["vault.projects.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/vault/projects/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One project.
         * @description One project. Scopes: vault:read. Costs 1 rate-limit token and 1 credit.
         */
        get: operations["vault.projects.get"];
        put?: never;
        post?: never;
        /**
         * Deletes a project.
         * @description Deletes a project. Scopes: vault:write. Costs 2 rate-limit tokens and 2 credits.
         */
        delete: operations["vault.projects.delete"];
        options?: never;
        head?: never;
        /**
         * Changes a project's name, description, type or status.
         * @description Changes a project's name, description, type or status. Scopes: vault:write. Costs 2 rate-limit tokens and 2 credits.
         */
        patch: operations["vault.projects.update"];
        trace?: never;
    };
    "/api/v2/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tenant's API keys, newest first, cursor paginated.
         * @description The tenant's API keys, newest first, cursor paginated. Scopes: keys:read. Costs 1 rate-limit token and 0 credits.
         */
        get: operations["keys.list"];
        put?: never;
        /**
         * Creates an API key (the raw key is shown once; a replay answers the record without it).
         * @description Creates an API key (the raw key is shown once; a replay answers the record without it). Scopes: keys:write. Costs 2 rate-limit tokens and 0 credits.
         */
        post: operations["keys.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One API key's record.
         * @description One API key's record. Scopes: keys:read. Costs 1 rate-limit token and 0 credits.
         */
        get: operations["keys.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Renames a key or changes its scopes (never beyond the caller's).
         * @description Renames a key or changes its scopes (never beyond the caller's). Scopes: keys:write. Costs 2 rate-limit tokens and 0 credits.
         */
        patch: operations["keys.update"];
        trace?: never;
    };
    "/api/v2/keys/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revokes a key at once.
         * @description Revokes a key at once. Scopes: keys:write. Costs 2 rate-limit tokens and 0 credits.
         */
        post: operations["keys.revoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/keys/{id}/roll": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replaces a key; the old one keeps working for grace_period_seconds (0 to 7 days).
         * @description Replaces a key; the old one keeps working for grace_period_seconds (0 to 7 days). Scopes: keys:write. Costs 2 rate-limit tokens and 0 credits.
         */
        post: operations["keys.roll"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Credit balance and calls and credits per capability per hour, last 24 hours.
         * @description Credit balance and calls and credits per capability per hour, last 24 hours. Scopes: usage:read. Costs 1 rate-limit token and 0 credits.
         */
        get: operations["usage.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description RFC 9457 problem details. Clients branch on `code`. */
        Problem: {
            /** Format: uri */
            type: string;
            title: string;
            /** Format: int32 */
            status: number;
            detail: string;
            /** @enum {string} */
            code: "malformed_authorization" | "credential_location_not_allowed" | "duplicate_credentials" | "missing_credentials" | "unsupported_auth_scheme" | "invalid_api_key" | "api_key_revoked" | "api_key_expired" | "invalid_token" | "token_expired" | "insufficient_credits" | "insufficient_scope" | "environment_mismatch" | "rate_limited" | "cost_exceeds_capacity" | "invalid_idempotency_key" | "idempotency_key_required" | "idempotency_key_in_use" | "idempotency_key_reused" | "idempotency_unavailable" | "service_unavailable" | "key_already_rolled" | "key_limit_reached" | "malformed_request" | "headers_too_large" | "invalid_parameter" | "invalid_cursor" | "invalid_body" | "validation_failed" | "not_found" | "method_not_allowed" | "payload_too_large" | "unsupported_media_type" | "internal_error";
        };
        FieldError: {
            field: string;
            message: string;
        };
        Problem_malformed_authorization: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/malformed_authorization";
            /** @constant */
            title?: "Malformed Authorization header";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "malformed_authorization";
        } & components["schemas"]["Problem"];
        Problem_credential_location_not_allowed: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/credential_location_not_allowed";
            /** @constant */
            title?: "Credential location not allowed";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "credential_location_not_allowed";
            /** @enum {string} */
            location: "query" | "cookie" | "header" | "body" | "path";
            parameter?: string;
        } & components["schemas"]["Problem"];
        Problem_duplicate_credentials: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/duplicate_credentials";
            /** @constant */
            title?: "Duplicate credentials";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "duplicate_credentials";
        } & components["schemas"]["Problem"];
        Problem_missing_credentials: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/missing_credentials";
            /** @constant */
            title?: "Missing credentials";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "missing_credentials";
        } & components["schemas"]["Problem"];
        Problem_unsupported_auth_scheme: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/unsupported_auth_scheme";
            /** @constant */
            title?: "Unsupported authentication scheme";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "unsupported_auth_scheme";
        } & components["schemas"]["Problem"];
        Problem_invalid_api_key: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/invalid_api_key";
            /** @constant */
            title?: "Invalid API key";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "invalid_api_key";
        } & components["schemas"]["Problem"];
        Problem_api_key_revoked: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/api_key_revoked";
            /** @constant */
            title?: "API key revoked";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "api_key_revoked";
        } & components["schemas"]["Problem"];
        Problem_api_key_expired: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/api_key_expired";
            /** @constant */
            title?: "API key expired";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "api_key_expired";
        } & components["schemas"]["Problem"];
        Problem_invalid_token: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/invalid_token";
            /** @constant */
            title?: "Invalid token";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "invalid_token";
        } & components["schemas"]["Problem"];
        Problem_token_expired: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/token_expired";
            /** @constant */
            title?: "Token expired";
            /** @constant */
            status?: 401;
            /** @constant */
            code?: "token_expired";
        } & components["schemas"]["Problem"];
        Problem_insufficient_credits: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/insufficient_credits";
            /** @constant */
            title?: "Insufficient credits";
            /** @constant */
            status?: 402;
            /** @constant */
            code?: "insufficient_credits";
            /** Format: int64 */
            balance: number;
            /** Format: int64 */
            required: number;
        } & components["schemas"]["Problem"];
        Problem_insufficient_scope: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/insufficient_scope";
            /** @constant */
            title?: "Insufficient scope";
            /** @constant */
            status?: 403;
            /** @constant */
            code?: "insufficient_scope";
            missing_scopes: string[];
        } & components["schemas"]["Problem"];
        Problem_environment_mismatch: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/environment_mismatch";
            /** @constant */
            title?: "Environment mismatch";
            /** @constant */
            status?: 403;
            /** @constant */
            code?: "environment_mismatch";
            /**
             * @description The environment the request may act in.
             * @enum {string}
             */
            environment: "live" | "test";
        } & components["schemas"]["Problem"];
        Problem_rate_limited: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/rate_limited";
            /** @constant */
            title?: "Rate limited";
            /** @constant */
            status?: 429;
            /** @constant */
            code?: "rate_limited";
            /** Format: int64 */
            cost: number;
            /** Format: int64 */
            remaining: number;
            /** Format: int64 */
            limit: number;
        } & components["schemas"]["Problem"];
        Problem_cost_exceeds_capacity: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/cost_exceeds_capacity";
            /** @constant */
            title?: "Cost exceeds capacity";
            /** @constant */
            status?: 429;
            /** @constant */
            code?: "cost_exceeds_capacity";
            /** Format: int64 */
            cost: number;
            /** Format: int64 */
            limit: number;
        } & components["schemas"]["Problem"];
        Problem_invalid_idempotency_key: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/invalid_idempotency_key";
            /** @constant */
            title?: "Invalid idempotency key";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "invalid_idempotency_key";
        } & components["schemas"]["Problem"];
        Problem_idempotency_key_in_use: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/idempotency_key_in_use";
            /** @constant */
            title?: "Idempotency key in use";
            /** @constant */
            status?: 409;
            /** @constant */
            code?: "idempotency_key_in_use";
        } & components["schemas"]["Problem"];
        Problem_idempotency_key_reused: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/idempotency_key_reused";
            /** @constant */
            title?: "Idempotency key reused";
            /** @constant */
            status?: 422;
            /** @constant */
            code?: "idempotency_key_reused";
        } & components["schemas"]["Problem"];
        Problem_idempotency_unavailable: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/idempotency_unavailable";
            /** @constant */
            title?: "Idempotency unavailable";
            /** @constant */
            status?: 503;
            /** @constant */
            code?: "idempotency_unavailable";
        } & components["schemas"]["Problem"];
        Problem_service_unavailable: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/service_unavailable";
            /** @constant */
            title?: "Service unavailable";
            /** @constant */
            status?: 503;
            /** @constant */
            code?: "service_unavailable";
        } & components["schemas"]["Problem"];
        Problem_key_already_rolled: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/key_already_rolled";
            /** @constant */
            title?: "Key already rolled";
            /** @constant */
            status?: 409;
            /** @constant */
            code?: "key_already_rolled";
        } & components["schemas"]["Problem"];
        Problem_key_limit_reached: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/key_limit_reached";
            /** @constant */
            title?: "Key limit reached";
            /** @constant */
            status?: 409;
            /** @constant */
            code?: "key_limit_reached";
            /** Format: int64 */
            limit: number;
        } & components["schemas"]["Problem"];
        Problem_malformed_request: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/malformed_request";
            /** @constant */
            title?: "Malformed request";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "malformed_request";
        } & components["schemas"]["Problem"];
        Problem_headers_too_large: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/headers_too_large";
            /** @constant */
            title?: "Request headers too large";
            /** @constant */
            status?: 431;
            /** @constant */
            code?: "headers_too_large";
        } & components["schemas"]["Problem"];
        Problem_invalid_parameter: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/invalid_parameter";
            /** @constant */
            title?: "Invalid parameter";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "invalid_parameter";
            param: string;
        } & components["schemas"]["Problem"];
        Problem_invalid_cursor: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/invalid_cursor";
            /** @constant */
            title?: "Invalid cursor";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "invalid_cursor";
            param?: string;
        } & components["schemas"]["Problem"];
        Problem_invalid_body: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/invalid_body";
            /** @constant */
            title?: "Invalid body";
            /** @constant */
            status?: 400;
            /** @constant */
            code?: "invalid_body";
        } & components["schemas"]["Problem"];
        Problem_validation_failed: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/validation_failed";
            /** @constant */
            title?: "Validation failed";
            /** @constant */
            status?: 422;
            /** @constant */
            code?: "validation_failed";
            errors: components["schemas"]["FieldError"][];
        } & components["schemas"]["Problem"];
        Problem_not_found: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/not_found";
            /** @constant */
            title?: "Not found";
            /** @constant */
            status?: 404;
            /** @constant */
            code?: "not_found";
        } & components["schemas"]["Problem"];
        Problem_payload_too_large: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/payload_too_large";
            /** @constant */
            title?: "Payload too large";
            /** @constant */
            status?: 413;
            /** @constant */
            code?: "payload_too_large";
            /** Format: int64 */
            limit_bytes: number;
        } & components["schemas"]["Problem"];
        Problem_unsupported_media_type: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/unsupported_media_type";
            /** @constant */
            title?: "Unsupported media type";
            /** @constant */
            status?: 415;
            /** @constant */
            code?: "unsupported_media_type";
        } & components["schemas"]["Problem"];
        Problem_internal_error: {
            /** @constant */
            type?: "https://api.alloovium.com/errors/internal_error";
            /** @constant */
            title?: "Internal error";
            /** @constant */
            status?: 500;
            /** @constant */
            code?: "internal_error";
        } & components["schemas"]["Problem"];
    };
    responses: never;
    parameters: {
        /** @description Page size. */
        Limit: number;
        /** @description The `next_cursor` of the previous page. */
        Cursor: string;
        /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
        IdempotencyKey: string;
    };
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    "meta.whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The calling principal. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        user_id: string;
                        tenant_id: string;
                        /** @constant */
                        auth_method: "api_key";
                        email: string | null;
                        /** Format: uuid */
                        api_key_id: string;
                        api_key_name: string;
                        api_key_prefix: string;
                        /** @enum {string} */
                        environment: "live" | "test";
                        /** @enum {string} */
                        rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                        scopes: string[];
                    } | {
                        user_id: string;
                        tenant_id: string;
                        /** @constant */
                        auth_method: "oauth";
                        client_id: string;
                        scopes: string[];
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "meta.capabilities": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every capability, with `allowed` for the caller. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: {
                            id: string;
                            /** @enum {string} */
                            method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";
                            path: string;
                            scopes: string[];
                            /** Format: int64 */
                            cost: number;
                            idempotent: boolean;
                            allowed: boolean;
                        }[];
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "vault.projects.list": {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of projects. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: {
                            /** Format: uuid */
                            id: string;
                            name: string;
                            description: string | null;
                            /** @enum {string} */
                            project_type: "commercial" | "residential" | "industrial" | "infrastructure" | "mixed_use";
                            /** @enum {string} */
                            status: "active" | "archived";
                            /** Format: date-time */
                            created_at: string;
                        }[];
                        /** @description Pass back as `cursor` for the next page; null on the last page. */
                        next_cursor: string | null;
                        has_more: boolean;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_parameter`, `invalid_cursor`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_parameter"] | components["schemas"]["Problem_invalid_cursor"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_credits` */
            402: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_credits"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "vault.projects.create": {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name: string;
                    description?: string | null;
                    /** @enum {string} */
                    project_type: "commercial" | "residential" | "industrial" | "infrastructure" | "mixed_use";
                    /** @enum {string} */
                    status?: "active" | "archived";
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The project. */
            201: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    /** @description `true` on a response replayed for a repeated Idempotency-Key. */
                    "Idempotent-Replayed"?: "true";
                    /** @description The project's URL. */
                    location: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        description: string | null;
                        /** @enum {string} */
                        project_type: "commercial" | "residential" | "industrial" | "infrastructure" | "mixed_use";
                        /** @enum {string} */
                        status: "active" | "archived";
                        /** Format: date-time */
                        created_at: string;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `invalid_idempotency_key`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_invalid_idempotency_key"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_credits` */
            402: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_credits"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `idempotency_key_in_use` */
            409: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_in_use"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `unsupported_media_type` */
            415: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_unsupported_media_type"];
                };
            };
            /** @description `idempotency_key_reused`, `validation_failed` */
            422: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_reused"] | components["schemas"]["Problem_validation_failed"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `idempotency_unavailable`, `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_unavailable"] | components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "vault.projects.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The project. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        description: string | null;
                        /** @enum {string} */
                        project_type: "commercial" | "residential" | "industrial" | "infrastructure" | "mixed_use";
                        /** @enum {string} */
                        status: "active" | "archived";
                        /** Format: date-time */
                        created_at: string;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_credits` */
            402: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_credits"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "vault.projects.delete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_credits` */
            402: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_credits"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "vault.projects.update": {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name?: string;
                    description?: string | null;
                    /** @enum {string} */
                    project_type?: "commercial" | "residential" | "industrial" | "infrastructure" | "mixed_use";
                    /** @enum {string} */
                    status?: "active" | "archived";
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The project as changed. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    /** @description `true` on a response replayed for a repeated Idempotency-Key. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        description: string | null;
                        /** @enum {string} */
                        project_type: "commercial" | "residential" | "industrial" | "infrastructure" | "mixed_use";
                        /** @enum {string} */
                        status: "active" | "archived";
                        /** Format: date-time */
                        created_at: string;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `invalid_idempotency_key`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_invalid_idempotency_key"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_credits` */
            402: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_credits"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `idempotency_key_in_use` */
            409: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_in_use"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `unsupported_media_type` */
            415: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_unsupported_media_type"];
                };
            };
            /** @description `idempotency_key_reused`, `validation_failed` */
            422: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_reused"] | components["schemas"]["Problem_validation_failed"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `idempotency_unavailable`, `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_unavailable"] | components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "keys.list": {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of key records. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: {
                            /** Format: uuid */
                            id: string;
                            name: string;
                            prefix: string;
                            /** @enum {string} */
                            environment: "live" | "test";
                            /** @enum {string} */
                            rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                            scopes: string[];
                            /** Format: date-time */
                            created_at: string;
                            last_used_at: string | null;
                            expires_at: string | null;
                            revoked_at: string | null;
                            /** @enum {string} */
                            status: "active" | "expired" | "revoked";
                        }[];
                        /** @description Pass back as `cursor` for the next page; null on the last page. */
                        next_cursor: string | null;
                        has_more: boolean;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_parameter`, `invalid_cursor`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_parameter"] | components["schemas"]["Problem_invalid_cursor"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "keys.create": {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name: string;
                    /** @enum {string} */
                    environment: "live" | "test";
                    scopes: string[];
                    expires_at?: string | null;
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The key. */
            201: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    /** @description `true` on a response replayed for a repeated Idempotency-Key. */
                    "Idempotent-Replayed"?: "true";
                    /** @description The key's URL. */
                    location: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        prefix: string;
                        /** @enum {string} */
                        environment: "live" | "test";
                        /** @enum {string} */
                        rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                        scopes: string[];
                        /** Format: date-time */
                        created_at: string;
                        last_used_at: string | null;
                        expires_at: string | null;
                        revoked_at: string | null;
                        /** @enum {string} */
                        status: "active" | "expired" | "revoked";
                        /** @description The raw key, shown once; absent from a replay. */
                        key?: string;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `invalid_idempotency_key`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_invalid_idempotency_key"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `idempotency_key_in_use`, `key_limit_reached` */
            409: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_in_use"] | components["schemas"]["Problem_key_limit_reached"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `unsupported_media_type` */
            415: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_unsupported_media_type"];
                };
            };
            /** @description `idempotency_key_reused`, `validation_failed` */
            422: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_reused"] | components["schemas"]["Problem_validation_failed"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `idempotency_unavailable`, `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_unavailable"] | components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "keys.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key's record. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        prefix: string;
                        /** @enum {string} */
                        environment: "live" | "test";
                        /** @enum {string} */
                        rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                        scopes: string[];
                        /** Format: date-time */
                        created_at: string;
                        last_used_at: string | null;
                        expires_at: string | null;
                        revoked_at: string | null;
                        /** @enum {string} */
                        status: "active" | "expired" | "revoked";
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "keys.update": {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name?: string;
                    scopes?: string[];
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The key's record as changed. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    /** @description `true` on a response replayed for a repeated Idempotency-Key. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        prefix: string;
                        /** @enum {string} */
                        environment: "live" | "test";
                        /** @enum {string} */
                        rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                        scopes: string[];
                        /** Format: date-time */
                        created_at: string;
                        last_used_at: string | null;
                        expires_at: string | null;
                        revoked_at: string | null;
                        /** @enum {string} */
                        status: "active" | "expired" | "revoked";
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `invalid_idempotency_key`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_invalid_idempotency_key"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `idempotency_key_in_use` */
            409: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_in_use"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `unsupported_media_type` */
            415: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_unsupported_media_type"];
                };
            };
            /** @description `idempotency_key_reused`, `validation_failed` */
            422: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_reused"] | components["schemas"]["Problem_validation_failed"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `idempotency_unavailable`, `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_unavailable"] | components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "keys.revoke": {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The revoked key's record. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    /** @description `true` on a response replayed for a repeated Idempotency-Key. */
                    "Idempotent-Replayed"?: "true";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        prefix: string;
                        /** @enum {string} */
                        environment: "live" | "test";
                        /** @enum {string} */
                        rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                        scopes: string[];
                        /** Format: date-time */
                        created_at: string;
                        last_used_at: string | null;
                        expires_at: string | null;
                        revoked_at: string | null;
                        /** @enum {string} */
                        status: "active" | "expired" | "revoked";
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `invalid_idempotency_key`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_invalid_idempotency_key"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `idempotency_key_in_use` */
            409: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_in_use"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `unsupported_media_type` */
            415: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_unsupported_media_type"];
                };
            };
            /** @description `idempotency_key_reused`, `validation_failed` */
            422: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_reused"] | components["schemas"]["Problem_validation_failed"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `idempotency_unavailable`, `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_unavailable"] | components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "keys.roll": {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": {
                    /** Format: int32 */
                    grace_period_seconds?: number;
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The new key. */
            201: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    /** @description `true` on a response replayed for a repeated Idempotency-Key. */
                    "Idempotent-Replayed"?: "true";
                    /** @description The new key's URL. */
                    location: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        name: string;
                        prefix: string;
                        /** @enum {string} */
                        environment: "live" | "test";
                        /** @enum {string} */
                        rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
                        scopes: string[];
                        /** Format: date-time */
                        created_at: string;
                        last_used_at: string | null;
                        expires_at: string | null;
                        revoked_at: string | null;
                        /** @enum {string} */
                        status: "active" | "expired" | "revoked";
                        /** @description The raw key, shown once; absent from a replay. */
                        key?: string;
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `invalid_idempotency_key`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_invalid_idempotency_key"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `not_found` */
            404: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_not_found"];
                };
            };
            /** @description `idempotency_key_in_use`, `key_already_rolled` */
            409: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_in_use"] | components["schemas"]["Problem_key_already_rolled"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `unsupported_media_type` */
            415: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_unsupported_media_type"];
                };
            };
            /** @description `idempotency_key_reused`, `validation_failed` */
            422: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_key_reused"] | components["schemas"]["Problem_validation_failed"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `idempotency_unavailable`, `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_idempotency_unavailable"] | components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
    "usage.get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The balance and the last 24 hours of usage. */
            200: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: int64 */
                        balance: number;
                        data: {
                            /** Format: date-time */
                            hour: string;
                            capability: string;
                            /** Format: int64 */
                            calls: number;
                            /** Format: int64 */
                            credits: number;
                        }[];
                    };
                };
            };
            /** @description `malformed_authorization`, `credential_location_not_allowed`, `duplicate_credentials`, `malformed_request`, `invalid_body` */
            400: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_malformed_authorization"] | components["schemas"]["Problem_credential_location_not_allowed"] | components["schemas"]["Problem_duplicate_credentials"] | components["schemas"]["Problem_malformed_request"] | components["schemas"]["Problem_invalid_body"];
                };
            };
            /** @description `missing_credentials`, `unsupported_auth_scheme`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `invalid_token`, `token_expired` */
            401: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_missing_credentials"] | components["schemas"]["Problem_unsupported_auth_scheme"] | components["schemas"]["Problem_invalid_api_key"] | components["schemas"]["Problem_api_key_revoked"] | components["schemas"]["Problem_api_key_expired"] | components["schemas"]["Problem_invalid_token"] | components["schemas"]["Problem_token_expired"];
                };
            };
            /** @description `insufficient_scope`, `environment_mismatch` */
            403: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies. */
                    "WWW-Authenticate"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_insufficient_scope"] | components["schemas"]["Problem_environment_mismatch"];
                };
            };
            /** @description `payload_too_large` */
            413: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_payload_too_large"];
                };
            };
            /** @description `rate_limited`, `cost_exceeds_capacity` */
            429: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_rate_limited"] | components["schemas"]["Problem_cost_exceeds_capacity"];
                };
            };
            /** @description `headers_too_large` */
            431: {
                headers: {
                    /** @description The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on. */
                    RateLimit?: string;
                    /** @description The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`). */
                    "RateLimit-Policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_headers_too_large"];
                };
            };
            /** @description `internal_error` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_internal_error"];
                };
            };
            /** @description `service_unavailable` */
            503: {
                headers: {
                    /** @description Whole seconds to wait before retrying. */
                    "Retry-After": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem_service_unavailable"];
                };
            };
        };
    };
}
