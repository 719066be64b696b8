/**
 * The Developer Console (`/console`) in a real Chromium, driven with playwright-core, against the
 * sample app started in-process (memory stores, the demo key). The whole flow runs on Hono; the
 * page is smoke-tested on Express and Koa. Chromium is required: a missing binary fails the file.
 * `page.evaluate` takes expressions as strings: they run in the page, and this project's
 * TypeScript has no DOM library.
 */
import { existsSync } from "node:fs";
import { generateApiKey } from "@alloovium/core";
import { chromium, type Browser, type BrowserContext, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type Framework, type RunningServer } from "../../src/server";

/** Debian's package; `.ci/run` installs it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const RAW_KEY = /^ak_(live|test)_[0-9A-Za-z]{38}$/;
const KEYS_TABLE = "Your tenant's API keys, newest first";
const USAGE_TABLE = "Calls and credits per capability";

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  // A fresh temporary profile per launch (playwright's default), deleted on close.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
});

/** What one page did: its requests (to check where the key went) and its errors (CSP included). */
interface Watched {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly requests: { url: string; headers: Record<string, string> }[];
  readonly errors: string[];
}

async function openPage(server: RunningServer, permissions: string[] = []): Promise<Watched> {
  const context = await browser.newContext({ permissions, locale: "en-US" });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const requests: Watched["requests"] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push({ url: r.url(), headers: r.headers() }));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(`${e.name}: ${e.message}`));
  return { page, context, requests, errors };
}

async function gotoConsole(page: Page, server: RunningServer): Promise<Response> {
  const res = await page.goto(`${server.url}/console`);
  expect(res, "navigation answered").not.toBeNull();
  return res!;
}

/** Pastes a key and submits with the keyboard (Enter), as a keyboard user would. */
async function pasteKey(page: Page, key: string, remember: boolean): Promise<void> {
  await page.getByLabel("API key", { exact: true }).fill(key);
  if (remember) await page.getByLabel("Remember it in this tab until the tab is closed").check();
  await page.getByLabel("API key", { exact: true }).press("Enter");
}

function keyRow(page: Page, name: string) {
  return page.getByRole("table", { name: KEYS_TABLE }).getByRole("row").filter({ hasText: name });
}

/** The console shows the raw key once, in a read-only field: its value. */
async function readNewKey(page: Page): Promise<string> {
  const field = page.getByLabel("New API key");
  await field.waitFor({ state: "visible" });
  const raw = await field.inputValue();
  expect(raw).toMatch(RAW_KEY);
  return raw;
}

async function createInUi(page: Page, name: string, scopes: string[]): Promise<string> {
  const form = page.getByRole("region", { name: "Create a key" });
  await form.getByLabel("Name").fill(name);
  for (const s of scopes) await form.getByLabel(s, { exact: true }).check();
  await form.getByLabel("Expires").selectOption({ label: "In 30 days" });
  await form.getByRole("button", { name: "Create key" }).click();
  return readNewKey(page);
}

async function dismissNewKey(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Done, hide it" }).click();
  await page.getByLabel("New API key").waitFor({ state: "hidden" });
}

/** A real HTTP call from Node, outside the browser. */
async function call(server: RunningServer, path: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const digits = (s: string | null) => Number((s ?? "").replace(/\D/g, ""));

describe("Developer Console on hono: the whole flow", () => {
  let server: RunningServer;
  let demoKey: string;

  beforeAll(async () => {
    server = await startServer({ framework: "hono", port: 0, log: () => {} });
    demoKey = server.demoKey!;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("serves the page with a strict CSP, no-store and nosniff, and runs it without a violation", async () => {
    const { page, context, errors } = await openPage(server);
    const res = await gotoConsole(page, server);
    expect(res.status()).toBe(200);
    const h = res.headers();
    expect(h["content-type"]).toBe("text/html; charset=utf-8");
    expect(h["cache-control"]).toBe("no-store");
    expect(h["x-content-type-options"]).toBe("nosniff");
    expect(h["content-security-policy"]).toContain("script-src 'self'");
    expect(h["content-security-policy"]).toContain("default-src 'none'");
    expect(h["content-security-policy"]).not.toContain("unsafe-inline");
    // Landmarks and the live region a screen reader needs.
    expect(await page.getByRole("banner").count()).toBe(1);
    expect(await page.getByRole("main").count()).toBe(1);
    expect(await page.getByRole("status").count()).toBe(1);
    await pasteKey(page, demoKey, false);
    await keyRow(page, "Demo key").waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows a problem's detail for a key the server refuses", async () => {
    const { page, context } = await openPage(server);
    await gotoConsole(page, server);
    await pasteKey(page, generateApiKey("test"), false);
    const alert = page.getByRole("alert");
    await alert.getByText("The API key is not valid.").waitFor();
    expect(await alert.textContent()).toContain("invalid_api_key");
    expect(await page.getByRole("table", { name: KEYS_TABLE }).isVisible()).toBe(false);
    await context.close();
  });

  it("creates a key and shows it once, revokes it, rolls another with a grace period, and shows usage", async () => {
    const { page, context, requests, errors } = await openPage(server, ["clipboard-read", "clipboard-write"]);
    await gotoConsole(page, server);
    await pasteKey(page, demoKey, true);
    await page.getByText("Using Demo key").waitFor();
    const demoRow = keyRow(page, "Demo key");
    await demoRow.waitFor();
    expect(await demoRow.textContent()).toContain(demoKey.slice(0, 12));
    const balanceAtStart = digits(await page.locator("#credits").textContent());
    expect(balanceAtStart).toBe(100_000);

    // The demo key is a test key: it may create test keys only, and the form says so.
    const form = page.getByRole("region", { name: "Create a key" });
    expect(await form.getByLabel(/^Live/).isDisabled()).toBe(true);
    expect(await form.getByLabel(/^Test/).isChecked()).toBe(true);

    // Create: the raw key is shown once, with the warning, and copied to the clipboard.
    const raw = await createInUi(page, "CI deploy", ["vault:read"]);
    expect(await page.getByRole("region", { name: "Your new key: CI deploy" }).textContent()).toContain("it will not be shown again");
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByRole("status").getByText("The key is on the clipboard.").waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(raw);
    const row = keyRow(page, "CI deploy");
    await row.waitFor();
    expect(await row.textContent()).toContain(raw.slice(0, 12));
    expect(await row.textContent()).toContain("vault:read");
    expect(await row.textContent()).toContain("active");

    // It works from outside the browser.
    const used = await call(server, "/api/v2/vault/projects", raw);
    expect(used.status).toBe(200);

    // Never in the markup, the URL or storage; gone once dismissed, and after a reload.
    expect(await page.content()).not.toContain(raw);
    expect(await page.evaluate<string>("JSON.stringify({ ...sessionStorage, ...localStorage })")).not.toContain(raw);
    await dismissNewKey(page);
    expect(await page.getByLabel("New API key").inputValue()).toBe("");
    await page.reload();
    await keyRow(page, "CI deploy").waitFor(); // the demo key was remembered in this tab
    expect(await page.getByLabel("New API key").isVisible()).toBe(false);
    expect(await page.evaluate<string>("document.body.innerText")).not.toContain(raw);

    // Last used, once the key was used (written off the request's path: refresh until shown).
    await expect
      .poll(async () => {
        await page.getByRole("button", { name: "Refresh keys" }).click();
        return (await keyRow(page, "CI deploy").getByRole("cell").nth(4).textContent()) ?? "";
      }, { timeout: 10_000, interval: 200 })
      .not.toBe("never");

    // Revoke, after a confirmation; the key is refused at once.
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: `Revoke CI deploy (${raw.slice(0, 12)})` }).click();
    await keyRow(page, "CI deploy").getByRole("cell", { name: "revoked" }).waitFor();
    const revoked = await call(server, "/api/v2/vault/projects", raw);
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe("api_key_revoked");
    expect(await page.getByRole("button", { name: `Roll CI deploy (${raw.slice(0, 12)})` }).isDisabled()).toBe(true);

    // Roll with a grace period, by keyboard in the dialog: old and new keys both work.
    const old = await createInUi(page, "Worker", ["vault:read"]);
    await dismissNewKey(page);
    await page.getByRole("button", { name: `Roll Worker (${old.slice(0, 12)})` }).click();
    const dialog = page.getByRole("dialog", { name: "Roll key" });
    await dialog.waitFor();
    await dialog.getByLabel("Grace period for the old key").selectOption({ label: "1 day" });
    await page.keyboard.press("Tab"); // to "Roll key"
    await page.keyboard.press("Enter");
    const rolled = await readNewKey(page);
    expect(rolled).not.toBe(old);
    expect((await call(server, "/api/v2/vault/projects", old)).status).toBe(200);
    expect((await call(server, "/api/v2/vault/projects", rolled)).status).toBe(200);
    await dismissNewKey(page);
    await expect.poll(async () => keyRow(page, "Worker").count()).toBe(2);

    // Usage: the vault calls made above, and the balance they took (1 credit each).
    await page.getByRole("button", { name: "Refresh usage" }).click();
    const usageRow = page.getByRole("table", { name: USAGE_TABLE }).getByRole("row").filter({ hasText: "vault.projects.list" });
    await usageRow.waitFor();
    // The row of the usage shown before the refresh may still be there: wait for the new one.
    await expect.poll(async () => (await usageRow.getByRole("cell").allTextContents()).slice(0, 2).map((c) => digits(c))).toEqual([3, 3]);
    await expect.poll(async () => digits(await page.locator("#credits").textContent())).toBe(balanceAtStart - 3);
    expect(await page.getByRole("img", { name: /Calls per hour over the last 24 hours/ }).isVisible()).toBe(true);

    // The key went nowhere but the Authorization header of same-origin calls.
    const origin = new URL(server.url).origin;
    for (const r of requests) {
      expect(new URL(r.url).origin, r.url).toBe(origin);
      expect(r.url, r.url).not.toMatch(/ak_(live|test)_/);
      if (new URL(r.url).pathname.startsWith("/api/")) expect(r.headers["authorization"]).toBe(`Bearer ${demoKey}`);
      else expect(r.headers["authorization"]).toBeUndefined();
    }
    const posts = requests.filter((r) => /\/api\/v2\/keys(\/[^/]+\/roll)?$/.test(new URL(r.url).pathname) && r.headers["idempotency-key"] !== undefined);
    expect(posts.length).toBeGreaterThanOrEqual(3); // two creates and a roll, each with an Idempotency-Key
    expect(page.url()).toBe(`${server.url}/console`);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("forgets the key: nothing left in sessionStorage", async () => {
    const { page, context } = await openPage(server);
    await gotoConsole(page, server);
    await pasteKey(page, demoKey, true);
    await keyRow(page, "Demo key").waitFor();
    expect(await page.evaluate("sessionStorage.length")).toBe(1);
    await page.getByRole("button", { name: "Forget key" }).click();
    await page.getByRole("table", { name: KEYS_TABLE }).waitFor({ state: "hidden" });
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await context.close();
  });
});

describe.each(["express", "koa", "fastify", "nestjs"] as const satisfies readonly Framework[])("Developer Console on %s: smoke", (framework) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ framework, port: 0, log: () => {} });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("loads under its CSP and lists the tenant's keys", async () => {
    const { page, context, errors } = await openPage(server);
    const res = await gotoConsole(page, server);
    expect(res.status()).toBe(200);
    expect(res.headers()["content-security-policy"]).toContain("script-src 'self'");
    expect(res.headers()["cache-control"]).toBe("no-store");
    await pasteKey(page, server.demoKey!, false);
    const row = keyRow(page, "Demo key");
    await row.waitFor();
    expect(await row.textContent()).toContain(server.demoKey!.slice(0, 12));
    expect(digits(await page.locator("#credits").textContent())).toBe(100_000);
    expect(errors).toEqual([]);
    await context.close();
  });
});
