import type { KeyboardEvent } from "react";

/** The keys every dialog and confirmation shares: Escape backs out (and goes no further). */
export function dialogKeys(onClose: () => void): { onKeyDown: (e: KeyboardEvent) => void } {
  return {
    onKeyDown: (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    },
  };
}
