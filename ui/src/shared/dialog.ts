/** A key press as React and the DOM both give it. */
interface KeyPress {
  key: string;
  stopPropagation(): void;
}

/** The keys every dialog, confirmation and form shares: Escape backs out (and goes no further). */
export function dialogKeys(onClose: () => void): { onKeyDown: (e: KeyPress) => void } {
  return {
    onKeyDown: (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    },
  };
}
