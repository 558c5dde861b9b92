// Which users are picked for a bulk change. The table's name cell holds each row's checkbox,
// present only when the admin may change users in bulk.
import { createContext, useContext } from "react";

export interface Selection {
  has(id: string): boolean;
  toggle(id: string, name: string): void;
}

export const SelectionContext = createContext<Selection | null>(null);

export function SelectBox({ id, name }: { id: string; name: string }) {
  const selection = useContext(SelectionContext);
  if (!selection) return null;
  return (
    <input
      type="checkbox"
      className="row-select"
      aria-label={`Select ${name}`}
      checked={selection.has(id)}
      onChange={() => selection.toggle(id, name)}
      // Ticking a box picks the user; it does not open them.
      onClick={(e) => e.stopPropagation()}
      onKeyDown={(e) => e.stopPropagation()}
    />
  );
}
