import { createColumnHelper, rowSortingFeature, tableFeatures } from "@tanstack/react-table";
import type { UserRow } from "../bindings/UserRow";
import type { UserSort } from "../bindings/UserSort";
import type { UserStatus } from "../bindings/UserStatus";
import { formatDate, formatDateTime, formatRelative, formatUsd } from "../format";
import { ROLE_LABEL } from "../shared/roles";
import { SelectBox } from "./selection";

// Sorting is the cache's job (manualSorting); the feature only keeps the state and header toggles.
export const features = tableFeatures({ rowSortingFeature });

export const STATUS_LABEL: Record<UserStatus, string> = {
  active: "Active",
  pending: "Pending",
  suspended: "Suspended",
};

const SORTS: readonly string[] = ["name", "email", "role", "status", "created_at", "last_active_at"] satisfies UserSort[];

/** The `UserSort` of a column id; sortable columns are named after their sort. */
export function toUserSort(columnId: string): UserSort | undefined {
  return SORTS.includes(columnId) ? (columnId as UserSort) : undefined;
}

const col = createColumnHelper<typeof features, UserRow>();

export const columns = col.columns([
  col.accessor("name", {
    header: "Name",
    cell: (c) => (
      <>
        <SelectBox id={c.row.original.id} name={c.getValue()} />
        <span className="name" title={c.getValue()}>{c.getValue()}</span>
        {c.row.original.scim_managed && (
          <span className="badge" title="Managed by your identity provider (SCIM)">
            SCIM
          </span>
        )}
      </>
    ),
  }),
  col.accessor("email", { header: "E-mail", cell: (c) => <span title={c.getValue()}>{c.getValue()}</span> }),
  col.accessor("role", { header: "Role", cell: (c) => ROLE_LABEL[c.getValue()] }),
  col.accessor("status", {
    header: "Status",
    cell: (c) => <span className={`pill pill-${c.getValue()}`}>{STATUS_LABEL[c.getValue()]}</span>,
  }),
  col.accessor("workspaces", { header: "Workspaces", enableSorting: false, cell: (c) => <NameList names={c.getValue()} /> }),
  col.accessor("last_active_at", {
    header: "Last active",
    // Most recent first is what one looks for.
    sortDescFirst: true,
    cell: (c) => {
      const at = c.getValue();
      return at ? (
        <time dateTime={at} title={formatDateTime(at)}>
          {formatRelative(at)}
        </time>
      ) : (
        <span className="muted">—</span>
      );
    },
  }),
  col.accessor("created_at", {
    header: "Created",
    sortDescFirst: true,
    cell: (c) => (
      <time dateTime={c.getValue()} title={formatDateTime(c.getValue())}>
        {formatDate(c.getValue())}
      </time>
    ),
  }),
  col.accessor("groups", { header: "Groups", enableSorting: false, cell: (c) => <NameList names={c.getValue()} /> }),
  col.accessor("spend_mtd_usd", {
    header: "Spend MTD",
    enableSorting: false,
    cell: (c) => <span className="num">{formatUsd(c.getValue())}</span>,
  }),
]);

function NameList({ names }: { names: string[] }) {
  const text = names.join(", ");
  return text ? <span title={text}>{text}</span> : <span className="muted">—</span>;
}
