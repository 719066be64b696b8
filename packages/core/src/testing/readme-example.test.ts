// This file is quoted verbatim in packages/core/README.md ("Testing your policy"); a test below
// checks the README still contains it.
// --- readme:start
import { defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import { expect, it } from "vitest";

const whoami = defineCapability({
  id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true,
});

it("gives a free key 60 calls a minute, then rate_limited", async () => {
  const t = createTestPolicy({ environment: "live" });
  const { key } = await t.mintKey({ tier: "free" });
  const answers = [];
  for (let i = 0; i < 61; i++) answers.push(await t.call(whoami, { key }));
  expect(answers.filter((d) => d.kind === "continue")).toHaveLength(60);
  const last = answers[60];
  expect(last?.kind === "reject" && last.problem.code).toBe("rate_limited");
  t.clock.advance(1_000); // one token back
  expect((await t.call(whoami, { key })).kind).toBe("continue");
});
// --- readme:end

import { readFileSync } from "node:fs";
import { join } from "node:path";

it("is quoted verbatim in the core README", () => {
  const self = readFileSync(__filename, "utf8");
  const snippet = self.slice(self.indexOf("// --- readme:start\n") + 20, self.indexOf("// --- readme:end")).trim();
  const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
  expect(readme).toContain(snippet);
});
