// The Developer Console (contract section 9): plain DOM, no framework, no build step.
// The pasted key lives in this closure (and in sessionStorage only when the user asks); it is
// sent only in the Authorization header of same-origin fetches. Text goes in with textContent.
(() => {
  "use strict";

  const STORAGE_KEY = "alloovium.console.key";
  const API = "/api/v2";
  const $ = (id) => document.getElementById(id);
  const state = { key: null, me: null, nextCursor: null, rolling: null };

  // ---------------------------------------------------------------- DOM helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "text") el.textContent = value;
      else if (name === "onclick") el.addEventListener("click", value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const c of children) if (c !== null && c !== undefined) el.append(c);
    return el;
  }
  function svg(tag, attrs) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, String(value));
    return el;
  }
  function when(iso) {
    if (!iso) return h("span", { text: "never" });
    const d = new Date(iso);
    return h("time", { datetime: iso, text: d.toLocaleString() });
  }

  // ---------------------------------------------------------------- status and problems
  function say(message) {
    $("status").textContent = message;
  }
  function clearProblem() {
    const box = $("problem");
    box.hidden = true;
    box.replaceChildren();
  }
  function showProblem(error) {
    const box = $("problem");
    const body = error && error.problem;
    const lines = [h("p", { text: body && body.detail ? body.detail : error.message || "Something went wrong." })];
    if (body && Array.isArray(body.errors)) {
      lines.push(h("ul", {}, ...body.errors.map((e) => h("li", { text: `${e.field}: ${e.message}` }))));
    }
    if (body && Array.isArray(body.missing_scopes)) lines.push(h("p", { text: `Missing scopes: ${body.missing_scopes.join(", ")}` }));
    if (body && body.code) lines.push(h("p", { class: "help", text: `(${body.status} ${body.code})` }));
    box.replaceChildren(...lines);
    box.hidden = false;
    say("");
  }

  // ---------------------------------------------------------------- API calls
  class ApiError extends Error {
    constructor(status, problem) {
      super(problem && problem.detail ? problem.detail : `The server answered ${status}.`);
      this.status = status;
      this.problem = problem;
    }
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // insecure contexts lack randomUUID
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  /** The `"credits";r=<balance>` member of a RateLimit header. */
  function readCredits(res) {
    const m = /"credits";(?:[^,]*;)?r=(\d+)/.exec(res.headers.get("ratelimit") || "");
    if (m) showBalance(Number(m[1]));
  }
  function showBalance(n) {
    if (typeof n === "number" && Number.isFinite(n)) $("credits").textContent = n.toLocaleString();
  }

  async function api(method, path, body, { idempotent = false } = {}) {
    const headers = { authorization: `Bearer ${state.key}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    // A new Idempotency-Key per action: a retry the network makes is answered once.
    if (idempotent) headers["idempotency-key"] = uuid();
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
        referrerPolicy: "no-referrer",
      });
    } catch {
      throw new ApiError(0, { detail: "The server could not be reached." });
    }
    readCredits(res);
    const text = await res.text();
    let data;
    try {
      data = text === "" ? undefined : JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (!res.ok) throw new ApiError(res.status, data && typeof data === "object" ? data : null);
    return data;
  }

  // ---------------------------------------------------------------- the key in use
  async function useKey(raw, remember) {
    clearProblem();
    state.key = raw;
    say("Checking the key…");
    let me;
    try {
      me = await api("GET", "/me");
    } catch (e) {
      state.key = null;
      sessionStorage.removeItem(STORAGE_KEY);
      showSections(false);
      showProblem(e);
      return;
    }
    state.me = me;
    if (remember) sessionStorage.setItem(STORAGE_KEY, raw);
    else sessionStorage.removeItem(STORAGE_KEY);
    $("auth-key").value = "";
    const who = me.auth_method === "api_key" ? `${me.api_key_name} (${me.api_key_prefix}…, ${me.environment})` : `OAuth client ${me.client_id}`;
    $("whoami").textContent = `Using ${who}. Scopes: ${me.scopes.length ? me.scopes.join(", ") : "none"}.`;
    $("whoami").hidden = false;
    fillCreateForm(me);
    showSections(true);
    await Promise.all([loadKeys(), loadUsage()]);
  }

  function forgetKey() {
    state.key = null;
    state.me = null;
    sessionStorage.removeItem(STORAGE_KEY);
    $("auth-key").value = "";
    $("whoami").hidden = true;
    hideNewKey();
    showSections(false);
    $("keys-table").tBodies[0].replaceChildren();
    clearProblem();
    say("The key is forgotten.");
  }

  function showSections(on) {
    for (const id of ["keys", "create", "usage"]) $(id).hidden = !on;
  }

  // ---------------------------------------------------------------- keys
  async function loadKeys(more = false) {
    const cursor = more && state.nextCursor ? `&cursor=${encodeURIComponent(state.nextCursor)}` : "";
    let page;
    try {
      page = await api("GET", `/keys?limit=50${cursor}`);
    } catch (e) {
      showProblem(e);
      return;
    }
    const body = $("keys-table").tBodies[0];
    const rows = page.data.map(keyRow);
    if (more) body.append(...rows);
    else body.replaceChildren(...rows);
    state.nextCursor = page.has_more ? page.next_cursor : null;
    $("keys-more").hidden = !page.has_more;
    say(`${body.rows.length} key${body.rows.length === 1 ? "" : "s"} listed.`);
  }

  function keyRow(k) {
    const label = `${k.name} (${k.prefix})`;
    const active = k.status === "active";
    return h(
      "tr",
      { "data-key-id": k.id },
      h("td", {}, h("code", { text: k.prefix })),
      h("td", { text: k.name }),
      h("td", { text: k.environment }),
      h("td", { text: k.scopes.length ? k.scopes.join(", ") : "none" }),
      h("td", {}, when(k.last_used_at)),
      h("td", {}, when(k.expires_at)),
      h("td", { class: `st-${k.status}`, text: k.status }),
      h(
        "td",
        {},
        h(
          "div",
          { class: "cell-actions" },
          h("button", { type: "button", "aria-label": `Roll ${label}`, disabled: !active, onclick: () => openRoll(k), text: "Roll" }),
          h("button", { type: "button", class: "danger", "aria-label": `Revoke ${label}`, disabled: k.status === "revoked", onclick: () => revoke(k), text: "Revoke" }),
        ),
      ),
    );
  }

  function fillCreateForm(me) {
    const list = $("create-scope-list");
    list.replaceChildren(
      ...me.scopes.map((scope, i) =>
        h("p", { class: "check" }, h("input", { type: "checkbox", id: `scope-${i}`, value: scope }), " ", h("label", { for: `scope-${i}`, text: scope })),
      ),
    );
    if (me.scopes.length === 0) list.append(h("p", { class: "help", text: "Your key holds no scope: the new key can hold none either." }));
    // A key never grants more than its creator holds; a test key creates test keys only.
    const testOnly = me.auth_method === "api_key" && me.environment === "test";
    $("create-env-live").disabled = testOnly;
    if (testOnly) $("create-env-test").checked = true;
    $("create-env-help").hidden = !testOnly;
  }

  async function createKey(event) {
    event.preventDefault();
    clearProblem();
    const name = $("create-name").value.trim();
    if (!name) {
      showProblem(new Error("Give the key a name."));
      $("create-name").focus();
      return;
    }
    const scopes = [...$("create-scope-list").querySelectorAll("input:checked")].map((c) => c.value);
    const environment = $("create-env-live").checked ? "live" : "test";
    const body = { name, environment, scopes };
    const days = $("create-expiry").value;
    if (days) body.expires_at = new Date(Date.now() + Number(days) * 86_400_000).toISOString();
    say("Creating the key…");
    try {
      const created = await api("POST", "/keys", body, { idempotent: true });
      $("create-form").reset();
      fillCreateForm(state.me);
      showNewKey(created);
      await loadKeys();
      say(`Key "${created.name}" created. Copy it now: it will not be shown again.`);
    } catch (e) {
      showProblem(e);
    }
  }

  async function revoke(k) {
    const own = state.me && state.me.api_key_id === k.id;
    const warning = own ? " This is the key this console is using: the console will stop working until you paste another." : "";
    if (!window.confirm(`Revoke "${k.name}" (${k.prefix})? Every call with it fails at once. This cannot be undone.${warning}`)) return;
    clearProblem();
    try {
      const r = await api("POST", `/keys/${encodeURIComponent(k.id)}/revoke`, undefined, { idempotent: true });
      say(`Key "${r.name}" revoked.`);
      if (own) {
        forgetKey();
        say(`Key "${r.name}" revoked. It was the console's key: paste another.`);
        return;
      }
      await loadKeys();
    } catch (e) {
      showProblem(e);
    }
  }

  function openRoll(k) {
    state.rolling = k;
    const own = state.me && state.me.api_key_id === k.id;
    $("roll-what").textContent = `Key "${k.name}" (${k.prefix}…)${own ? ": the key this console is using. Paste the new key once it is rolled." : ""}`;
    $("roll-grace").value = "3600";
    $("roll-dialog").showModal();
    $("roll-grace").focus();
  }

  async function roll(event) {
    event.preventDefault();
    const k = state.rolling;
    $("roll-dialog").close();
    if (!k) return;
    clearProblem();
    const grace = Number($("roll-grace").value);
    say("Rolling the key…");
    try {
      const created = await api("POST", `/keys/${encodeURIComponent(k.id)}/roll`, { grace_period_seconds: grace }, { idempotent: true });
      showNewKey(created);
      await loadKeys();
      say(`Key "${created.name}" rolled. Copy the new key now: it will not be shown again.`);
    } catch (e) {
      showProblem(e);
    }
  }

  // ---------------------------------------------------------------- the raw key, once
  function showNewKey(created) {
    if (typeof created.key !== "string") {
      // A replayed answer has no raw key (it is never stored, not even for replays).
      showProblem(new Error(`The answer for "${created.name}" holds no raw key (it was a replay): roll the key to get one.`));
      return;
    }
    $("new-key-value").value = created.key;
    $("new-key-title").textContent = `Your new key: ${created.name}`;
    $("new-key").hidden = false;
    $("new-key").focus();
  }

  function hideNewKey() {
    $("new-key-value").value = "";
    $("new-key").hidden = true;
  }

  async function copyNewKey() {
    const input = $("new-key-value");
    try {
      await navigator.clipboard.writeText(input.value);
      say("The key is on the clipboard.");
    } catch {
      // No clipboard API (insecure context) or no permission: select it for Ctrl+C / Cmd+C.
      input.focus();
      input.select();
      let copied = false;
      try {
        copied = document.execCommand("copy");
      } catch {
        copied = false;
      }
      say(copied ? "The key is on the clipboard." : "The key is selected: press Ctrl+C (Cmd+C on a Mac) to copy it.");
    }
  }

  // ---------------------------------------------------------------- usage
  async function loadUsage() {
    let usage;
    try {
      usage = await api("GET", "/usage");
    } catch (e) {
      $("usage-table").hidden = true;
      $("usage-chart").toggleAttribute("hidden", true); // an SVG element has no `hidden` property
      $("usage-note").textContent =
        e.status === 404 ? "This server does not report usage." : `Usage is not available: ${e.problem && e.problem.detail ? e.problem.detail : e.message}`;
      return;
    }
    showBalance(usage.balance);
    const since = Date.now() - 24 * 3600_000;
    const recent = (usage.data || []).filter((u) => Date.parse(u.hour) >= since - 3600_000);
    const byCapability = new Map();
    const byHour = new Map();
    for (const u of recent) {
      const t = byCapability.get(u.capability) || { calls: 0, credits: 0 };
      t.calls += u.calls;
      t.credits += u.credits;
      byCapability.set(u.capability, t);
      byHour.set(u.hour, (byHour.get(u.hour) || 0) + u.calls);
    }
    const rows = [...byCapability.entries()].sort((a, b) => b[1].calls - a[1].calls || a[0].localeCompare(b[0]));
    const maxCalls = Math.max(1, ...rows.map(([, t]) => t.calls));
    const maxCredits = Math.max(1, ...rows.map(([, t]) => t.credits));
    $("usage-table").tBodies[0].replaceChildren(
      ...rows.map(([capability, t]) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("code", { text: capability })),
          h("td", { class: "num" }, t.calls.toLocaleString(), bar(t.calls, maxCalls, "bar-calls")),
          h("td", { class: "num" }, t.credits.toLocaleString(), bar(t.credits, maxCredits, "bar-credits")),
        ),
      ),
    );
    $("usage-table").hidden = rows.length === 0;
    $("usage-note").textContent = rows.length === 0 ? "No calls in the last 24 hours." : `Balance: ${Number(usage.balance).toLocaleString()} credits.`;
    drawHours(byHour);
  }

  function bar(value, max, cls) {
    const s = svg("svg", { class: "inline-bar", width: 100, height: 10, "aria-hidden": "true", focusable: "false" });
    s.append(svg("rect", { class: cls, x: 0, y: 0, height: 10, width: Math.max(value > 0 ? 1 : 0, Math.round((100 * value) / max)) }));
    return s;
  }

  /** 24 columns, one per hour (oldest left); the table above carries the numbers for screen readers. */
  function drawHours(byHour) {
    const chart = $("usage-chart");
    const title = $("usage-chart-title");
    const start = Math.floor(Date.now() / 3600_000) * 3600_000 - 23 * 3600_000;
    const counts = [];
    for (let i = 0; i < 24; i++) {
      const at = start + i * 3600_000;
      let n = 0;
      for (const [hour, calls] of byHour) if (Date.parse(hour) === at) n += calls;
      counts.push(n);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const max = Math.max(1, ...counts);
    chart.replaceChildren(title);
    title.textContent = `Calls per hour over the last 24 hours: ${total} in all, at most ${Math.max(...counts)} in one hour.`;
    counts.forEach((n, i) => {
      const height = Math.round((70 * n) / max);
      chart.append(svg("rect", { class: "bar-calls", x: i * 20 + 2, y: 75 - height, width: 16, height }));
    });
    chart.append(svg("line", { x1: 0, y1: 75.5, x2: 480, y2: 75.5, stroke: "currentColor", "stroke-width": 1 }));
    for (const [x, anchor, label] of [[0, "start", "24 h ago"], [480, "end", "now"]]) {
      const text = svg("text", { x, y: 79, "text-anchor": anchor, "dominant-baseline": "hanging", class: "axis" });
      text.textContent = label;
      chart.append(text);
    }
    chart.toggleAttribute("hidden", total === 0);
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    $("auth-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("auth-key");
      const raw = input.value.trim();
      if (!/^ak_(live|test)_[0-9A-Za-z]{38}$/.test(raw)) {
        showProblem(new Error("That is not an API key: it starts with ak_live_ or ak_test_ and has 46 characters."));
        input.focus();
        return;
      }
      void useKey(raw, $("auth-remember").checked);
    });
    $("auth-forget").addEventListener("click", forgetKey);
    $("keys-refresh").addEventListener("click", () => {
      clearProblem();
      void loadKeys();
    });
    $("keys-more").addEventListener("click", () => void loadKeys(true));
    $("create-form").addEventListener("submit", createKey);
    $("new-key-copy").addEventListener("click", () => void copyNewKey());
    $("new-key-done").addEventListener("click", () => {
      hideNewKey();
      say("The new key is hidden; it cannot be shown again.");
      $("keys-title").focus();
    });
    $("roll-form").addEventListener("submit", roll);
    $("roll-cancel").addEventListener("click", () => $("roll-dialog").close());
    $("roll-dialog").addEventListener("close", () => {
      state.rolling = null;
    });
    $("usage-refresh").addEventListener("click", () => void loadUsage());
    $("keys-title").tabIndex = -1;
    // Never leave a raw key in a page the browser might keep.
    window.addEventListener("pagehide", hideNewKey);
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (saved) {
      $("auth-remember").checked = true;
      void useKey(saved, true);
    }
  }

  init();
})();
