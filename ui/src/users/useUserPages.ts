import { useQueries, useQueryClient, type QueryObserverResult } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { toIpcError, useBackend } from "../backend/backend";
import type { IpcError } from "../bindings/IpcError";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRow } from "../bindings/UserRow";
import type { UserRows } from "../bindings/UserRows";

export const PAGE_SIZE = 100;
/** How long the pages of a search no longer shown stay cached. */
const PAGES_KEPT_MS = 10_000;
/** Rows beyond the visible ones whose pages are fetched ahead, so scrolling rarely waits. */
const LOOKAHEAD = 50;

/** A users query without its window: what the table shows, not which part of it. */
export type UserQuery = Omit<UserFilter, "offset" | "limit">;

export const usersKey = (query: UserQuery, page: number) => ["users", query, page] as const;

export interface UserPages {
  /** All matching users; undefined until the first page arrives. */
  total: number | undefined;
  /** The loaded rows of the visible pages, in order: the table's data. */
  data: UserRow[];
  /** Where the row at `index` of the whole result is in `data`; undefined while its page loads. */
  dataIndex(index: number): number | undefined;
  /** True while rows of the previous query stand in for the current one's. */
  stale: boolean;
  error: IpcError | null;
  /** Tells which rows are on screen; pages are fetched for them. */
  setVisibleRows(first: number, last: number): void;
}

interface Combined {
  total: number | undefined;
  data: UserRow[];
  starts: { index: number; at: number; length: number }[];
  stale: boolean;
  error: IpcError | null;
}

/**
 * The users matching `query`, fetched by pages of `PAGE_SIZE` as they scroll into view. Each
 * page is its own query, so scrolling back is instant and a sync refreshes only what is used.
 */
export function useUserPages(query: UserQuery): UserPages {
  const backend = useBackend();
  const client = useQueryClient();
  const [pages, setPages] = useState({ first: 0, last: 0 });
  // The query whose rows are on screen: its pages stand in while a new query's pages load, so
  // the table never empties between keystrokes.
  const shown = useRef(query);

  const combine = useCallback(
    (results: QueryObserverResult<UserRows>[]): Combined => {
      const data: UserRow[] = [];
      const starts: Combined["starts"] = [];
      let total: number | undefined;
      results.forEach((r, i) => {
        if (!r.data) return;
        total ??= r.data.total;
        starts.push({ index: (pages.first + i) * PAGE_SIZE, at: data.length, length: r.data.rows.length });
        data.push(...r.data.rows);
      });
      const failed = results.find((r) => r.error);
      return {
        total,
        data,
        starts,
        stale: results.some((r) => r.isPlaceholderData),
        error: failed ? toIpcError(failed.error) : null,
      };
    },
    [pages.first],
  );

  const combined = useQueries({
    queries: range(pages.first, pages.last).map((page) => ({
      queryKey: usersKey(query, page),
      queryFn: () => backend.listUsers({ ...query, offset: page * PAGE_SIZE, limit: PAGE_SIZE }),
      placeholderData: () => client.getQueryData<UserRows>(usersKey(shown.current, page)),
      // Every keystroke is a query of its own: its pages go soon after it is left (asking again
      // takes milliseconds), not after the default five minutes with the pages of 100 others.
      gcTime: PAGES_KEPT_MS,
    })),
    combine,
  });

  useEffect(() => {
    if (combined.total !== undefined && !combined.stale) shown.current = query;
  });

  // While the pages in view load, the count stays: losing it would empty the scroll range
  // and move the view back to the top.
  const [knownTotal, setKnownTotal] = useState<number>();
  if (combined.total !== undefined && combined.total !== knownTotal) setKnownTotal(combined.total);
  const total = combined.total ?? knownTotal;
  const setVisibleRows = useCallback(
    (first: number, last: number) => {
      const end = Math.max(0, Math.min(last + LOOKAHEAD, (total ?? 1) - 1));
      const lastPage = Math.floor(end / PAGE_SIZE);
      const next = {
        first: Math.min(Math.floor(Math.max(0, first - LOOKAHEAD) / PAGE_SIZE), lastPage),
        last: lastPage,
      };
      setPages((p) => (p.first === next.first && p.last === next.last ? p : next));
    },
    [total],
  );

  const { starts } = combined;
  const dataIndex = useCallback(
    (index: number) => {
      const s = starts.find((s) => index >= s.index && index < s.index + s.length);
      return s && s.at + index - s.index;
    },
    [starts],
  );

  return { total, data: combined.data, dataIndex, stale: combined.stale, error: combined.error, setVisibleRows };
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
