import { describe, expect, it } from "vitest";
import { DATE_HINT, formatCount, formatInputDay, formatRelative, formatResetsIn, readInputDay } from "./format";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();
const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

describe("formatRelative", () => {
  it("rounds to the largest unit that fits", () => {
    expect(formatRelative(ago(10), NOW)).toBe("just now");
    expect(formatRelative(ago(5 * 60), NOW)).toBe(rtf.format(-5, "minute"));
    expect(formatRelative(ago(3 * 3600 + 600), NOW)).toBe(rtf.format(-3, "hour"));
    expect(formatRelative(ago(26 * 3600), NOW)).toBe(rtf.format(-1, "day"));
    expect(formatRelative(ago(400 * 24 * 3600), NOW)).toBe(rtf.format(-1, "year"));
  });

  it("treats a time slightly ahead as now, since clocks differ", () => {
    expect(formatRelative(new Date(NOW + 20_000).toISOString(), NOW)).toBe("just now");
  });
});

describe("formatCount", () => {
  it("uses the singular for one only", () => {
    expect(formatCount(1, "user", "users")).toBe("1 user");
    expect(formatCount(0, "user", "users")).toBe("0 users");
    expect(formatCount(64, "user", "users")).toBe("64 users");
  });
});

describe("formatResetsIn", () => {
  const at = (ms: number) => new Date(NOW + ms).toISOString();
  it("says days and hours, hours and minutes, or minutes", () => {
    expect(formatResetsIn(at(((3 * 24 + 4) * 60 + 30) * 60_000), NOW)).toBe("resets in 3 d 4 h");
    expect(formatResetsIn(at((5 * 60 + 12) * 60_000), NOW)).toBe("resets in 5 h 12 min");
    expect(formatResetsIn(at(8 * 60_000), NOW)).toBe("resets in 8 min");
  });

  it("rounds up to the minute and says now once the instant has passed", () => {
    expect(formatResetsIn(at(10_000), NOW)).toBe("resets in 1 min");
    expect(formatResetsIn(at(0), NOW)).toBe("resets now");
    expect(formatResetsIn(at(-60_000), NOW)).toBe("resets now");
    expect(formatResetsIn("not a time", NOW)).toBe("resets now");
  });
});

describe("amounts typed in forms", () => {
  it("reads numbers with the locale's separators, and refuses what is not one", async () => {
    const { parseLocaleNumber, readAmount } = await import("./format");
    // The tests run in an English locale: "," groups and "." is the decimal point.
    expect(parseLocaleNumber("1,200.50")).toBe(1200.5);
    expect(parseLocaleNumber(" 1200 ")).toBe(1200);
    expect(parseLocaleNumber(".5")).toBe(0.5);
    expect(parseLocaleNumber("12abc")).toBeNull();
    expect(parseLocaleNumber("1e9")).toBeNull();
    expect(parseLocaleNumber("")).toBeNull();
    expect(readAmount("")).toBeNull();
    expect(readAmount("  ")).toBeNull();
    expect(readAmount("1,200")).toBe(1200);
    expect(readAmount("-1")).toBeUndefined();
    expect(readAmount("ten")).toBeUndefined();
  });
});

describe("days typed in a date field", () => {
  it("reads a day written as the OS locale writes it, or year first, and nothing else", () => {
    expect(readInputDay(formatInputDay("2026-12-31"))).toBe("2026-12-31");
    expect(readInputDay(formatInputDay("2027-02-03"))).toBe("2027-02-03");
    expect(readInputDay("2026-1-5")).toBe("2026-01-05");
    expect(readInputDay("  ")).toBe("");
    for (const bad of ["31", "2026-02-30", "2026-13-01", "12/31/26", "2026/12", "a day", "2026-12-31-1"]) expect(readInputDay(bad), bad).toBeNull();
    expect(DATE_HINT).toContain(formatInputDay("2026-12-31"));
    expect(formatInputDay("")).toBe("");
  });
});
