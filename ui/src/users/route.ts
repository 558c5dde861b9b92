// `#users/<id>` shows one user; `#users` the table. The router picks the screen, this the user.
import { useSyncExternalStore } from "react";

export function userHref(id: string): string {
  return `#users/${encodeURIComponent(id)}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

function userIdFromHash(): string | null {
  const match = /^#\/?users\/(.+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** The id of the user the address shows, or null for the table. */
export function useUserRoute(): string | null {
  return useSyncExternalStore(subscribe, userIdFromHash);
}

export function openUser(id: string): void {
  window.location.hash = userHref(id);
}
