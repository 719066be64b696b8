import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPolicyError } from "../problems";
import { decodeCursor, encodeCursor, paginate, parseLimit, parsePageQuery, type Cursor } from "./index";

const seedCursor = "eyJjcmVhdGVkX2F0IjoiMjAyNi0wNC0wMlQxMDoxMjozNCswMDowMCIsImlkIjoiOGYyZTNjMWEifQ";
const isoArb = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().replace("Z", "+00:00"));

describe("cursors", () => {
  it("accepts February 29 of a leap year", () => {
    const r = decodeCursor(Buffer.from(JSON.stringify({ created_at: "2028-02-29T23:59:59.999Z", id: "x" })).toString("base64url"));
    expect(r).toEqual({ created_at: "2028-02-29T23:59:59.999Z", id: "x" });
  });

  it("decodes the quickstart's cursor", () => {
    expect(decodeCursor(seedCursor)).toEqual({ created_at: "2026-04-02T10:12:34+00:00", id: "8f2e3c1a" });
    expect(encodeCursor({ created_at: "2026-04-02T10:12:34+00:00", id: "8f2e3c1a" })).toBe(seedCursor);
  });

  it("round-trips any position", () => {
    fc.assert(
      fc.property(isoArb, fc.string({ minLength: 1, maxLength: 200 }), (created_at, id) => {
        const c = encodeCursor({ created_at, id });
        expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor(c)).toEqual({ created_at, id });
      }),
    );
  });

  it.each([
    ["not base64url", "abc$"],
    ["padding", seedCursor + "="],
    ["tampered byte", seedCursor.slice(0, 10) + (seedCursor[10] === "A" ? "B" : "A") + seedCursor.slice(11)],
    ["a JSON array", Buffer.from("[1,2]").toString("base64url")],
    ["an extra field", encodeCursor({ created_at: "2026-04-02T10:12:34+00:00", id: "x" }).slice(0, -2) + Buffer.from('","x":1}').toString("base64url")],
    ["a bad date", Buffer.from(JSON.stringify({ created_at: "yesterday", id: "x" })).toString("base64url")],
    ["an empty id", Buffer.from(JSON.stringify({ created_at: "2026-04-02T10:12:34+00:00", id: "" })).toString("base64url")],
    ["a number id", Buffer.from(JSON.stringify({ created_at: "2026-04-02T10:12:34+00:00", id: 5 })).toString("base64url")],
    ["a day that does not exist", Buffer.from(JSON.stringify({ created_at: "2026-02-30T10:12:34Z", id: "x" })).toString("base64url")],
    ["February 29 of a common year", Buffer.from(JSON.stringify({ created_at: "2027-02-29T00:00:00Z", id: "x" })).toString("base64url")],
    ["hour 24", Buffer.from(JSON.stringify({ created_at: "2026-04-02T24:00:00Z", id: "x" })).toString("base64url")],
    ["an offset of 25 hours", Buffer.from(JSON.stringify({ created_at: "2026-04-02T10:00:00+25:00", id: "x" })).toString("base64url")],
    ["too long", "A".repeat(2000)],
    ["empty", ""],
  ])("answers invalid_cursor to %s", (_why, raw) => {
    const r = decodeCursor(raw);
    expect(isPolicyError(r) && r.code).toBe("invalid_cursor");
  });

  it("never throws under fuzzing and answers a cursor or invalid_cursor", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: fc.constantFrom(..."ABCxyz019-_=") }), fc.base64String(), fc.constant("Q".repeat(16 * 1024)), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "").toString("base64url"))),
        (raw) => {
          const r = decodeCursor(raw);
          if (isPolicyError(r)) expect(r.code).toBe("invalid_cursor");
          else expect(encodeCursor(r)).toBe(raw);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe("limit", () => {
  it("defaults to 10 and accepts 1..100", () => {
    expect(parseLimit([])).toBe(10);
    expect(parseLimit(["1"])).toBe(1);
    expect(parseLimit(["100"])).toBe(100);
  });

  it.each([["0"], ["101"], ["abc"], ["1.5"], ["-1"], [" 5"], ["1e2"], [""], ["0010"]])("answers invalid_parameter with param limit to %j", (v) => {
    const r = parseLimit([v]);
    expect(isPolicyError(r) && r.code).toBe("invalid_parameter");
    expect(isPolicyError(r) && r.extensions).toEqual({ param: "limit" });
  });

  it("reads limit and cursor from a query string", () => {
    expect(parsePageQuery(`limit=5&cursor=${seedCursor}`)).toEqual({ limit: 5, cursor: { created_at: "2026-04-02T10:12:34+00:00", id: "8f2e3c1a" } });
    expect(parsePageQuery("")).toEqual({ limit: 10, cursor: null });
    const twice = parsePageQuery("limit=5&limit=6");
    expect(isPolicyError(twice) && twice.code).toBe("invalid_parameter");
  });
});

describe("paginate", () => {
  const itemsArb = fc.uniqueArray(fc.record({ created_at: isoArb, id: fc.uuid() }), { selector: (i) => i.id, maxLength: 60 });

  it("walks every item exactly once, newest first, whatever the limit", () => {
    fc.assert(
      fc.property(itemsArb, fc.integer({ min: 1, max: 100 }), (items, limit) => {
        const seen: Cursor[] = [];
        let cursor: Cursor | null = null;
        for (let guard = 0; guard < 100; guard++) {
          const page = paginate(items, { limit, cursor });
          seen.push(...page.data);
          expect(page.data.length).toBeLessThanOrEqual(limit);
          if (!page.has_more) {
            expect(page.next_cursor).toBeNull();
            break;
          }
          const next = decodeCursor(page.next_cursor as string);
          if (isPolicyError(next)) throw new Error("bad cursor");
          cursor = next;
        }
        expect(seen.map((s) => s.id).sort()).toEqual(items.map((s) => s.id).sort());
        for (let i = 1; i < seen.length; i++) {
          const a = seen[i - 1]!;
          const b = seen[i]!;
          expect(Date.parse(a.created_at) > Date.parse(b.created_at) || (a.created_at === b.created_at && a.id > b.id)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("is stable while items are created between pages", () => {
    const items = Array.from({ length: 15 }, (_, i) => ({ id: `id-${String(i).padStart(2, "0")}`, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    const first = paginate(items, { limit: 10, cursor: null });
    items.push({ id: "new", created_at: new Date(Date.UTC(2026, 0, 2)).toISOString() });
    const cursor = decodeCursor(first.next_cursor as string) as Cursor;
    const second = paginate(items, { limit: 10, cursor });
    expect(second.data.map((d) => d.id)).toEqual(["id-04", "id-03", "id-02", "id-01", "id-00"]);
    expect(second.has_more).toBe(false);
  });
});
