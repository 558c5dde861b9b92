// Dates follow the OS locale: this is a desktop app, not a web page with a chosen language.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const count = new Intl.NumberFormat();

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "just now", "5 minutes ago", "yesterday", "3 months ago". */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000;
  // Clock skew between the gateway and this computer can put recent times slightly ahead.
  if (Math.abs(seconds) < 45) return "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds / 60), "minute");
}

export function formatDate(iso: string): string {
  return date.format(new Date(iso));
}

export function formatDateTime(iso: string): string {
  return dateTime.format(new Date(iso));
}

export function formatCount(n: number, one: string, many: string): string {
  return `${count.format(n)} ${n === 1 ? one : many}`;
}

const usd = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" });
const number = new Intl.NumberFormat();

/** "$1,234.50": spend, to the cent. */
export function formatUsd(amount: number): string {
  // -0 (a rounding of nothing) reads "-$0.00"; adding 0 makes it +0.
  return usd.format(amount + 0);
}

const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const compactUsd = new Intl.NumberFormat(undefined, {
  style: "currency",
  currency: "USD",
  notation: "compact",
  minimumFractionDigits: 0,
  maximumFractionDigits: 1,
});

/** "23.3M": a large count where space is short; the exact one goes in a tooltip beside it. */
export function formatCompact(n: number): string {
  return compact.format(n);
}

/** "$1.2K": money on a chart's axis; exact amounts are in its tooltip. */
export function formatCompactUsd(amount: number): string {
  return compactUsd.format(amount);
}

/** "12,345": a plain count, in the OS's grouping. */
export function formatNumber(n: number): string {
  return number.format(n);
}

const parts = new Intl.NumberFormat().formatToParts(12345.6);
const GROUP = parts.find((p) => p.type === "group")?.value ?? ",";
const DECIMAL = parts.find((p) => p.type === "decimal")?.value ?? ".";

/**
 * A number typed the way the OS locale writes it ("1,200.50", "1.200,50", "1 200,5"), or `null`
 * when it is not one. Grouping is optional; the locale's decimal separator is the only one taken.
 */
export function parseLocaleNumber(text: string): number | null {
  let t = text.trim().replace(/[\s\u00a0\u202f]/g, "");
  if (GROUP.trim() !== "") t = t.split(GROUP).join("");
  if (DECIMAL !== ".") {
    if (t.includes(".")) return null;
    t = t.replace(DECIMAL, ".");
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(t)) return null;
  return Number(t);
}

/** What a form says of an amount that is not one. */
export const AMOUNT_ERROR = "Enter a number of 0 or more, or leave it empty for none.";

/** An optional amount from a form: `null` when empty, `undefined` when not a number of 0 or more. */
export function readAmount(raw: string): number | null | undefined {
  if (raw.trim() === "") return null;
  const n = parseLocaleNumber(raw);
  return n === null || n < 0 ? undefined : n;
}

/** "50, 80, 100" as percents, or what is wrong with it. */
export function parseThresholds(text: string): number[] | string {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const numbers = parts.map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n <= 0 || n > 1000)) return "Whole percents, such as 50, 80, 100.";
  return [...new Set(numbers)].sort((a, b) => a - b);
}

const MINUTE_MS = 60_000;

/**
 * "resets in 3 d 4 h", "resets in 5 h 12 min", "resets in 8 min": how long until a budget period
 * ends. `resetsAt` comes from the Rust side (the org's time zone and the period rule live there);
 * this only formats the time left, in whole minutes rounded up, so it never says "0 min" early.
 */
export function formatResetsIn(resetsAt: string, now: number = Date.now()): string {
  const left = Math.ceil((Date.parse(resetsAt) - now) / MINUTE_MS);
  if (!(left > 0)) return "resets now";
  const days = Math.floor(left / (24 * 60));
  const hours = Math.floor((left % (24 * 60)) / 60);
  const minutes = left % 60;
  if (days > 0) return `resets in ${days} d ${hours} h`;
  if (hours > 0) return `resets in ${hours} h ${minutes} min`;
  return `resets in ${minutes} min`;
}

/** A `YYYY-MM-DD` local date (the org's day, shown as is) as a `Date` at its local midnight. */
function dayDate(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, m! - 1, d!);
}

const numericDay = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "2-digit", day: "2-digit" });
/** The order of day, month and year in the OS locale's dates written in numbers. */
const DAY_ORDER = numericDay
  .formatToParts(new Date(2026, 11, 31))
  .map((p) => p.type)
  .filter((t): t is "day" | "month" | "year" => t === "day" || t === "month" || t === "year");

/** A `YYYY-MM-DD` day as the OS locale writes it in numbers ("12/31/2026"), for a date field; "" stays "". */
export function formatInputDay(day: string): string {
  return day === "" ? "" : numericDay.format(dayDate(day));
}

/** How a date field says what it takes. */
export const DATE_HINT = `A date such as ${formatInputDay("2026-12-31")}`;

/**
 * What was typed in a date field, as `YYYY-MM-DD`: "" when nothing, null when it is not a day.
 * Three numbers in the locale's order with any separators, the year in four digits; one that
 * starts with the year (a pasted 2026-12-31) is read year, month, day.
 */
export function readInputDay(text: string): string | null {
  if (text.trim() === "") return "";
  const numbers = text.split(/\D+/).filter((n) => n !== "");
  if (numbers.length !== 3) return null;
  const order = numbers[0]!.length === 4 ? (["year", "month", "day"] as const) : DAY_ORDER;
  const part = (name: "day" | "month" | "year") => numbers[order.indexOf(name)] ?? "";
  if (part("year").length !== 4 || part("month").length > 2 || part("day").length > 2) return null;
  const [year, month, day] = [Number(part("year")), Number(part("month")), Number(part("day"))];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${part("year")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** "16 Nov 2026"-style day of a `YYYY-MM-DD` local date, in the OS locale's format. */
export function formatDay(day: string): string {
  return date.format(dayDate(day));
}

const shortDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** "16 Nov"-style day for a chart's axis, where the year is the chart's title's. */
export function formatShortDay(day: string): string {
  return shortDay.format(dayDate(day));
}
