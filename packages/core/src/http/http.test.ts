import { describe, expect, it } from "vitest";
import { defineCapabilities, defineCapability } from "../capabilities";
import { isPolicyError } from "../problems";
import { createTestPolicy } from "../testing";
import { createHttpGate, isJsonMediaType, isProblemError, readJsonBody, splitTarget } from "./index";

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe("isJsonMediaType", () => {
  it("accepts application/json and +json with a UTF-8 charset or none", () => {
    for (const t of ["application/json", "Application/JSON; charset=utf-8", 'application/json;charset="UTF-8"', "application/merge-patch+json"]) {
      expect(isJsonMediaType(t), t).toBe(true);
    }
    for (const t of [undefined, "text/plain", "application/json; charset=latin1", "application/jsonx", "multipart/form-data"]) {
      expect(isJsonMediaType(t), String(t)).toBe(false);
    }
  });
});

describe("isProblemError", () => {
  it("recognises a ProblemError from another copy of the package, and nothing else", async () => {
    const { ProblemError } = await import("../problems");
    const foreign = Object.assign(new Error("x"), { name: "ProblemError", code: "not_found", detail: "x" });
    expect(isProblemError(new ProblemError("not_found", "x"))).toBe(true);
    expect(isProblemError(foreign)).toBe(true);
    expect(isProblemError(Object.assign(new Error("x"), { name: "ProblemError", code: "teapot", detail: "x" }))).toBe(false);
    expect(isProblemError({ name: "ProblemError", code: "not_found", detail: "x" })).toBe(false);
    expect(isProblemError(new Error("x"))).toBe(false);
  });
});

describe("splitTarget", () => {
  it("splits request targets and absolute URLs into path and raw query", () => {
    expect(splitTarget("/a/b?x=1&y=2")).toEqual({ path: "/a/b", query: "x=1&y=2" });
    expect(splitTarget("http://h:1/a?q#frag")).toEqual({ path: "/a", query: "q" });
    expect(splitTarget("http://h:1")).toEqual({ path: "/", query: "" });
    expect(splitTarget("/only")).toEqual({ path: "/only", query: "" });
  });
});

describe("readJsonBody", () => {
  const json = ["Content-Type", "application/json", "Transfer-Encoding", "chunked"];
  it("parses JSON, keeps text that does not parse as rawBody, and reads an empty body as none", async () => {
    expect(await readJsonBody("POST", json, chunks('{"a":', "1}"))).toEqual({ body: { a: 1 } });
    expect(await readJsonBody("POST", json, chunks("{nope"))).toEqual({ rawBody: "{nope" });
    expect(await readJsonBody("POST", json, chunks())).toEqual({});
    expect(await readJsonBody("POST", ["Transfer-Encoding", "chunked"], chunks())).toEqual({});
    expect(await readJsonBody("POST", ["Content-Length", "0"], chunks("ignored"))).toEqual({});
  });

  it("answers 413 payload_too_large from Content-Length or from the bytes read", async () => {
    const declared = await readJsonBody("POST", ["Content-Type", "application/json", "Content-Length", "11"], chunks("{}"), { limitBytes: 10 });
    expect(isPolicyError(declared) && declared.code).toBe("payload_too_large");
    const streamed = await readJsonBody("POST", json, chunks('{"a":"', "x".repeat(20), '"}'), { limitBytes: 10 });
    expect(isPolicyError(streamed) && streamed.code).toBe("payload_too_large");
  });

  it("answers 415 unsupported_media_type for a non-JSON body on POST, PUT and PATCH only", async () => {
    const form = ["Content-Type", "application/x-www-form-urlencoded", "Content-Length", "3"];
    for (const m of ["POST", "PUT", "PATCH"]) {
      const r = await readJsonBody(m, form, chunks("a=1"));
      expect(isPolicyError(r) && r.code, m).toBe("unsupported_media_type");
    }
    expect(await readJsonBody("DELETE", form, chunks("a=1"))).toEqual({});
    const untyped = await readJsonBody("POST", ["Content-Length", "3"], chunks("a=1"));
    expect(isPolicyError(untyped) && untyped.code).toBe("unsupported_media_type");
  });
});

describe("createHttpGate", () => {
  const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
  const create = defineCapability({ id: "things.create", method: "POST", path: "/things", cost: 1, idempotent: true });
  const set = defineCapabilities([whoami, create]);

  it("refuses a bad bodyLimitBytes when created", () => {
    const t = createTestPolicy();
    expect(() => createHttpGate({ policy: t.policy, bodyLimitBytes: -1 })).toThrow(/bodyLimitBytes/);
  });

  it("continues with the principal and the parsed body, or responds with the policy's problem", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    const ok = await gate.enter(
      { method: "post", url: "http://x/things?a=1", headers: ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Content-Length", "7"], body: chunks('{"a":1}') },
      create,
    );
    expect(ok.kind).toBe("continue");
    if (ok.kind === "continue") {
      expect(ok.request).toMatchObject({ method: "POST", path: "/things", query: "a=1", body: { a: 1 } });
      expect(ok.decision.principal.auth_method).toBe("api_key");
    }
    const no = await gate.enter({ method: "GET", url: "/api/v2/me", headers: [] }, whoami);
    expect(no.kind === "respond" && no.response.status).toBe(401);
  });

  it("renders a thrown ProblemError below 500 as the handler's answer and anything else as a bare 500", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy, bodyLimitBytes: 100 });
    const { ProblemError } = await import("../problems");
    const problem = await gate.fail(new ProblemError("validation_failed", "bad", { errors: [] }));
    expect(problem.status).toBe(422);
    expect(problem.headers["content-type"]).toBe("application/problem+json");
    const crash = await gate.fail(new Error("db password is hunter2"));
    expect(crash.status).toBe(500);
    expect(crash.body).not.toContain("hunter2");
    expect(JSON.parse(crash.body).code).toBe("internal_error");
  });

  it("answers unmatched requests with 404, or 405 and Allow", () => {
    const gate = createHttpGate({ policy: createTestPolicy().policy });
    expect(gate.unmatched(set, "GET", "/nope").status).toBe(404);
    const wrong = gate.unmatched(set, "delete", "/things");
    expect(wrong.status).toBe(405);
    expect(wrong.headers["allow"]).toBe("POST");
  });
});
