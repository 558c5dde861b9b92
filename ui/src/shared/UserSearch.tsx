import { useQuery } from "@tanstack/react-query";
import { useDeferredValue, useState } from "react";
import { useBackend } from "../backend/backend";
import type { UserRow } from "../bindings/UserRow";

/** Finds a user by name or e-mail in the cache; the matches are buttons (Tab, Enter) that say `verb` and the person. */
export function UserSearch({
  label,
  onPick,
  exclude = [],
  verb = "Add",
}: {
  label: string;
  onPick: (user: UserRow) => void;
  exclude?: readonly string[];
  verb?: string;
}) {
  const backend = useBackend();
  const [text, setText] = useState("");
  const query = useDeferredValue(text.trim());
  const found = useQuery({
    queryKey: ["users", "search", query],
    enabled: query.length > 0,
    queryFn: () =>
      backend.listUsers({ query, role: null, status: null, workspace_id: null, group_id: null, sort: "name", descending: false, offset: 0, limit: 8 }),
  });
  const rows = (found.data?.rows ?? []).filter((u) => !exclude.includes(u.id));
  return (
    <div className="field user-search">
      <label htmlFor={`search-${label}`}>{label}</label>
      <input id={`search-${label}`} className="input" type="search" autoComplete="off" placeholder="Name or e-mail" value={text} onChange={(e) => setText(e.target.value)} />
      {query && (
        <ul className="bulk-list" aria-label="Matching users">
          {rows.length === 0 && found.data && <li className="muted">No one else matches.</li>}
          {rows.map((u) => (
            <li key={u.id}>
              <button
                type="button"
                className="button"
                onClick={() => {
                  onPick(u);
                  setText("");
                }}
              >
                {verb} {u.name} ({u.email})
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
