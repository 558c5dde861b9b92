import { FlexRender, useTable, type Header, type OnChangeFn, type Row, type SortingState } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useRef, type CSSProperties, type KeyboardEvent, type ReactNode } from "react";
import type { UserRow } from "../bindings/UserRow";
import { columns, features } from "./columns";
import type { UserPages } from "./useUserPages";

// Fixed heights keep the virtualizer exact without measuring rows; the CSS reads them from
// the custom properties set below.
const ROW_HEIGHT = 32;
const HEADER_HEIGHT = 34;

const rowId = (u: UserRow) => u.id;

export const FIRST_ROWS_MARK = "users-table-visible";

interface Props {
  users: UserPages;
  sorting: SortingState;
  onSortingChange: OnChangeFn<SortingState>;
  /** Shown instead of rows when there are none. */
  emptyText: string;
  /** The list scrolls back to the top when this changes: another query is another list. */
  scrollKey: string;
  /** Opens a user: a click on their row, or Enter on it. */
  onOpen(id: string): void;
}

/** Enter opens the focused row; the arrow keys move between rows. */
function onRowKey(e: KeyboardEvent<HTMLDivElement>, open: () => void) {
  const sibling = { ArrowDown: e.currentTarget.nextElementSibling, ArrowUp: e.currentTarget.previousElementSibling }[e.key];
  if (e.key === "Enter") open();
  else if (sibling instanceof HTMLElement) sibling.focus();
  else return;
  e.preventDefault();
}

export function UsersTable({ users, sorting, onSortingChange, emptyText, scrollKey, onOpen }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const table = useTable({
    features,
    columns,
    data: users.data,
    getRowId: rowId,
    state: { sorting },
    onSortingChange,
    manualSorting: true,
    enableMultiSort: false,
    enableSortingRemoval: false,
  });

  const count = users.total ?? 0;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // The sticky header scrolls with the rows, above the first one.
    scrollMargin: HEADER_HEIGHT,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items.at(-1)?.index ?? 0;
  const { setVisibleRows } = users;
  useEffect(() => setVisibleRows(first, last), [setVisibleRows, first, last]);

  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [scrollKey]);

  const rows = table.getRowModel().rows;
  // A User Timing mark for the start-up benchmark: launch to the first rows on screen.
  const shown = rows.length > 0;
  useEffect(() => {
    if (shown && performance.getEntriesByName(FIRST_ROWS_MARK).length === 0) performance.mark(FIRST_ROWS_MARK);
  }, [shown]);
  const sizes = { "--row-height": `${ROW_HEIGHT}px`, "--header-height": `${HEADER_HEIGHT}px` } as CSSProperties;

  return (
    <div className="table-frame" style={sizes}>
      <div
        ref={scrollRef}
        className="users-table"
        role="table"
        aria-label="Users"
        aria-rowcount={count + 1}
        aria-busy={users.stale}
        data-testid="users-table"
        // Which list the rows on screen belong to, once they do: what the keystroke benchmark waits for.
        data-rows-for={users.stale || users.total === undefined ? undefined : scrollKey}
        // A scrolling region has to be reachable from the keyboard; Down enters its rows.
        tabIndex={0}
        onKeyDown={(e) => {
          if (e.target !== e.currentTarget || e.key !== "ArrowDown") return;
          e.preventDefault();
          e.currentTarget.querySelector<HTMLElement>("[data-testid=user-row]")?.focus();
        }}
      >
        <div role="rowgroup" className="thead">
          {table.getHeaderGroups().map((group) => (
            <div role="row" aria-rowindex={1} className="tr" key={group.id}>
              {group.headers.map((header) => (
                <HeaderCell key={header.id} header={header}>
                  <table.FlexRender header={header} />
                </HeaderCell>
              ))}
            </div>
          ))}
        </div>
        <div role="rowgroup" className="tbody" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const at = users.dataIndex(item.index);
            const row = at === undefined ? undefined : rows[at];
            const common = {
              role: "row",
              "aria-rowindex": item.index + 2,
              style: { transform: `translateY(${item.start - HEADER_HEIGHT}px)` },
            };
            // Keyed by position: scrolling reuses the same few row elements.
            return row ? (
              <UserRowView key={item.key} row={row} index={item.index} top={item.start - HEADER_HEIGHT} onOpen={onOpen} />
            ) : (
              <div key={item.key} {...common} className="tr placeholder" aria-busy="true">
                <div role="cell" className="td">
                  <span className="skeleton" />
                </div>
              </div>
            );
          })}
        </div>
      </div>
      {users.error ? (
        <div className="table-message error" role="alert">
          {users.error.message}
        </div>
      ) : users.total === 0 ? (
        <div className="table-message" data-testid="users-empty">
          {emptyText}
        </div>
      ) : null}
    </div>
  );
}

/**
 * One user's row. While a new search loads, the table renders the previous rows again: the same
 * users at the same places skip their cells, which keeps a keystroke's work to one real render.
 */
const UserRowView = memo(
  function UserRowView({ row, index, top, onOpen }: { row: Row<typeof features, UserRow>; index: number; top: number; onOpen(id: string): void }) {
    return (
      <div
        role="row"
        aria-rowindex={index + 2}
        style={{ transform: `translateY(${top}px)` }}
        className="tr clickable"
        data-testid="user-row"
        tabIndex={0}
        onClick={() => onOpen(row.id)}
        onKeyDown={(e) => onRowKey(e, () => onOpen(row.id))}
      >
        {row.getAllCells().map((cell) => (
          <div role="cell" className="td" key={cell.column.id}>
            <FlexRender cell={cell} />
          </div>
        ))}
      </div>
    );
  },
  (a, b) => a.row.original === b.row.original && a.index === b.index && a.top === b.top && a.onOpen === b.onOpen,
);

function HeaderCell({ header, children }: { header: Header<typeof features, UserRow, unknown>; children: ReactNode }) {
  const sorted = header.column.getIsSorted();
  if (!header.column.getCanSort()) {
    return (
      <div role="columnheader" className="th">
        {children}
      </div>
    );
  }
  return (
    <div
      role="columnheader"
      className="th"
      aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
    >
      <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
        {children}
        <span className="sort-mark" aria-hidden="true">
          {sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : ""}
        </span>
      </button>
    </div>
  );
}
