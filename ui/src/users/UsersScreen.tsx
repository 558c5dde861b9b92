import { useQuery } from "@tanstack/react-query";
import type { SortingState } from "@tanstack/react-table";
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { IpcError } from "../bindings/IpcError";
import type { Role } from "../bindings/Role";
import type { UserStatus } from "../bindings/UserStatus";
import { formatCount } from "../format";
import { ScreenHead } from "../shared/ScreenHead";
import { useCan } from "../shell/permissions";
import { BulkBar } from "./BulkBar";
import { ROLES, RoleOptions } from "../shared/roles";
import { STATUS_LABEL, toUserSort } from "./columns";
import { openUser, useUserRoute } from "./route";
import { SelectionContext, type Selection } from "./selection";
import { UserDetailScreen } from "./UserDetailScreen";
import { UsersTable } from "./UsersTable";
import { useUserPages, type UserQuery } from "./useUserPages";

const STATUSES = Object.keys(STATUS_LABEL) as UserStatus[];

export function UsersScreen({ syncing }: { syncing: boolean }) {
  const userId = useUserRoute();
  return userId === null ? <UsersList syncing={syncing} /> : <UserDetailScreen key={userId} id={userId} />;
}

function UsersList({ syncing }: { syncing: boolean }) {
  const backend = useBackend();
  const can = useCan();
  const [search, setSearch] = useState("");
  const [workspaceId, setWorkspaceId] = useState<string | null>(null);
  const [groupId, setGroupId] = useState<string | null>(null);
  const workspaces = useQuery({ queryKey: ["workspaces"], queryFn: () => backend.listWorkspaces() });
  const groups = useQuery({ queryKey: ["groups"], queryFn: () => backend.listGroups() });
  const [selected, setSelected] = useState<ReadonlyMap<string, string>>(new Map());
  const bulk = can("users.lifecycle") || can("users.write");
  const selection = useMemo<Selection | null>(
    () =>
      bulk
        ? {
            has: (id) => selected.has(id),
            toggle: (id, name) =>
              setSelected((s) => {
                const next = new Map(s);
                if (!next.delete(id)) next.set(id, name);
                return next;
              }),
          }
        : null,
    [bulk, selected],
  );
  const [exported, setExported] = useState<{ count: number | null; error: IpcError | null } | null>(null);
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
    workspace_id: workspaceId,
    group_id: groupId,
    sort: (sort && toUserSort(sort.id)) ?? "name",
    descending: sort?.desc ?? false,
  };
  const users = useUserPages(query);
  // Another query is another list: ticks on users it no longer shows would act unseen.
  const queryKey = JSON.stringify(query);
  const [tickedFor, setTickedFor] = useState(queryKey);
  if (tickedFor !== queryKey) {
    setTickedFor(queryKey);
    setSelected(new Map());
  }

  const filtered = query.query !== "" || role !== null || status !== null || workspaceId !== null || groupId !== null;

  const [exporting, setExporting] = useState(false);
  async function exportCsv() {
    setExported(null);
    setExporting(true);
    try {
      setExported({ count: await backend.exportUsersCsv({ ...query, offset: 0, limit: 0 }), error: null });
    } catch (e) {
      setExported({ count: null, error: toIpcError(e) });
    } finally {
      setExporting(false);
    }
  }
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
      <ScreenHead id="users-title" title="Users">
        <span className="count" role="status" data-testid="user-count">
          {users.total === undefined ? "" : formatCount(users.total, "user", "users")}
        </span>
      </ScreenHead>
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
          <RoleOptions />
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
        <IdFilter label="Workspace" all="All workspaces" value={workspaceId} onChange={setWorkspaceId} options={workspaces.data} />
        <IdFilter label="Group" all="All groups" value={groupId} onChange={setGroupId} options={groups.data} />
        <span className="toolbar-end">
          <button type="button" className="button" disabled={exporting} onClick={() => void exportCsv()}>
            Export CSV
          </button>
          {can("invitations.write") && (
            // A button, not a link: it acts (invites), by way of the invitations screen.
            <button type="button" className="button primary" onClick={() => (window.location.hash = "#invitations")}>
              Invite
            </button>
          )}
        </span>
      </div>
      {exported?.error ? (
        <p className="form-error" role="alert">
          {exported.error.message}
        </p>
      ) : exported?.count != null ? (
        <p className="muted" role="status">
          Saved {formatCount(exported.count, "user", "users")}
        </p>
      ) : null}
      <BulkBar selected={selected} onClear={() => setSelected(new Map())} />
      <SelectionContext.Provider value={selection}>
        <UsersTable
        users={users}
        sorting={sorting}
        onSortingChange={setSorting}
        emptyText={emptyText}
        scrollKey={queryKey}
        onOpen={openUser}
        />
      </SelectionContext.Provider>
    </section>
  );
}

function IdFilter(props: {
  label: string;
  all: string;
  value: string | null;
  onChange(id: string | null): void;
  options: { id: string; name: string }[] | undefined;
}) {
  return (
    <select aria-label={props.label} value={props.value ?? ""} onChange={(e) => props.onChange(e.target.value === "" ? null : e.target.value)}>
      <option value="">{props.all}</option>
      {props.options?.map((o) => (
        <option key={o.id} value={o.id}>
          {o.name}
        </option>
      ))}
    </select>
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
