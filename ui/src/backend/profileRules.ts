// The rules the core applies to a profile the admin enters (crates/core/src/console.rs
// `checked_profile`), with its messages, so the mock backend refuses as the core does.
import type { FieldError } from "../bindings/FieldError";
import type { ProfileInput } from "../bindings/ProfileInput";

/** The fields of `input` the core would refuse, each with the core's message; empty when none. */
export function profileInputErrors(input: ProfileInput): FieldError[] {
  const errors: FieldError[] = [];
  if (input.name.trim() === "") errors.push({ field: "name", message: "Give the profile a name." });
  const urlError = gatewayUrlError(input.url.trim());
  if (urlError) errors.push({ field: "url", message: urlError });
  return errors;
}

function gatewayUrlError(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL.`;
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.hostname === "") {
    return "The gateway URL must start with https:// (or http://) and name a host.";
  }
  return null;
}

/** The URL as the core stores it: trimmed, with exactly one trailing slash. */
export function normalizedUrl(url: string): string {
  return url.trim().replace(/\/+$/, "") + "/";
}

/** A CA field left blank means none. */
export function normalizedCa(pem: string | null): string | null {
  const trimmed = pem?.trim() ?? "";
  return trimmed === "" ? null : trimmed;
}
