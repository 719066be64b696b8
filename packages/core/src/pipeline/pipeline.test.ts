import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { createTestPolicy } from "../testing";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });

describe("pipeline smoke", () => {
  it("a free key calling a cost-1 capability 61 times in one second gets 60 allowed and one rate_limited", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ tier: "free" });
    const kinds: string[] = [];
    let last;
    for (let i = 0; i < 61; i++) {
      last = await t.call(whoami, { key });
      kinds.push(last.kind);
    }
    expect(kinds.filter((k) => k === "continue")).toHaveLength(60);
    expect(last?.kind).toBe("reject");
    if (last?.kind === "reject") {
      expect(last.problem.code).toBe("rate_limited");
      expect(last.response.headers["retry-after"]).toBe("1");
    }
  });
});
