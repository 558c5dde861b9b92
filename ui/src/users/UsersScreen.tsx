import type { SortingState } from "@tanstack/react-table";
import { useEffect, useRef, useState, type KeyboardEvent, type RefObject } from "react";
import type { Role } from "../bindings/Role";
import type { UserStatus } from "../bindings/UserStatus";
import { formatCount } from "../format";
import { ROLE_LABEL, STATUS_LABEL, toUserSort } from "./columns";
import { UsersTable } from "./UsersTable";
import { useUserPages, type UserQuery } from "./useUserPages";

const ROLES = Object.keys(ROLE_LABEL) as Role[];
const STATUSES = Object.keys(STATUS_LABEL) as UserStatus[];

export function UsersScreen({ syncing }: { syncing: boolean }) {
  const [search, setSearch] = useState("");
  const [role, setRole] = useState<Role | null>(null);
  const [status, setStatus] = useState<UserStatus | null>(null);
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  const searchRef = useRef<HTMLInputElement>(null);
  useSlashFocuses(searchRef);

  const sort = sorting[0];
  const query: UserQuery = {
    query: search.trim(),
    role,
    status,
    workspace_id: null,
    group_id: null,
    sort: (sort && toUserSort(sort.id)) ?? "name",
    descending: sort?.desc ?? false,
  };
  const users = useUserPages(query);

  const filtered = query.query !== "" || role !== null || status !== null;
  const emptyText = filtered ? "No users match" : syncing ? "Syncing users…" : "No users yet";

  function onSearchKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key !== "Escape") return;
    // A second Escape leaves the box, so the keyboard can move on.
    if (search === "") e.currentTarget.blur();
    else setSearch("");
    e.preventDefault();
  }

  return (
    <section className="screen" aria-labelledby="users-title">
      <div className="screen-head">
        <h1 id="users-title">Users</h1>
        <span className="count" role="status" data-testid="user-count">
          {users.total === undefined ? "" : formatCount(users.total, "user", "users")}
        </span>
      </div>
      <div className="toolbar">
        <div className="search-box">
          <input
            ref={searchRef}
            type="search"
            className="search"
            placeholder="Search by name or e-mail"
            aria-label="Search users"
            data-testid="user-search"
            autoComplete="off"
            spellCheck={false}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={onSearchKey}
          />
          <kbd aria-hidden="true">/</kbd>
        </div>
        <select
          aria-label="Role"
          data-testid="role-filter"
          value={role ?? ""}
          onChange={(e) => setRole(ROLES.find((r) => r === e.target.value) ?? null)}
        >
          <option value="">All roles</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABEL[r]}
            </option>
          ))}
        </select>
        <select
          aria-label="Status"
          data-testid="status-filter"
          value={status ?? ""}
          onChange={(e) => setStatus(STATUSES.find((s) => s === e.target.value) ?? null)}
        >
          <option value="">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
        </select>
      </div>
      <UsersTable
        users={users}
        sorting={sorting}
        onSortingChange={setSorting}
        emptyText={emptyText}
        scrollKey={JSON.stringify(query)}
      />
    </section>
  );
}

/** "/" anywhere but in a text field focuses `input`, as in most tools with a search box. */
function useSlashFocuses(input: RefObject<HTMLInputElement | null>) {
  useEffect(() => {
    function onKey(e: globalThis.KeyboardEvent) {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isEditable(e.target)) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [input]);
}

function isEditable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || target.matches("input, textarea, select"));
}
