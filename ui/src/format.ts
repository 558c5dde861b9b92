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
  return usd.format(amount);
}

/** "12,345": a plain count, in the OS's grouping. */
export function formatNumber(n: number): string {
  return number.format(n);
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

/** "Mon 16 Nov"-style day of a `YYYY-MM-DD` local date (the org's day, shown as is). */
export function formatDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return date.format(new Date(y!, m! - 1, d!));
}
