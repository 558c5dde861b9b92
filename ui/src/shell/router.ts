// A hash router: the screen is the part after "#" (`#settings`), so a reload or the back
// button keeps the admin where they were, and nothing needs a server.
import { useCallback, useSyncExternalStore } from "react";

export const SCREENS = [
  { id: "overview", label: "Overview" },
  { id: "users", label: "Users" },
  { id: "invitations", label: "Invitations" },
  { id: "workspaces", label: "Workspaces" },
  { id: "groups", label: "Groups" },
  { id: "usage", label: "Usage" },
  { id: "audit", label: "Audit log" },
  { id: "settings", label: "Settings" },
] as const;

export type ScreenId = (typeof SCREENS)[number]["id"];

/** Where the app opens, and where an unknown address leads. */
export const DEFAULT_SCREEN: ScreenId = "users";

export function screenFromHash(hash: string): ScreenId {
  // A screen's own part follows a slash: `#users/usr_1` is the users screen, showing one user.
  const id = hash.replace(/^#\/?/, "").split("/")[0];
  return SCREENS.find((s) => s.id === id)?.id ?? DEFAULT_SCREEN;
}

export function screenHref(id: ScreenId): string {
  return `#${id}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

/** The current screen, and a function that goes to another one. */
export function useRoute(): [ScreenId, (id: ScreenId) => void] {
  const screen = useSyncExternalStore(subscribe, () => screenFromHash(window.location.hash));
  const navigate = useCallback((id: ScreenId) => {
    if (window.location.hash === screenHref(id)) return;
    window.location.hash = screenHref(id);
  }, []);
  return [screen, navigate];
}
