// US dollars as the gateway counts them: cents for display, whatever the OS locale's separators.
const usd = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" });

export function formatUsd(value: number): string {
  return usd.format(value);
}
