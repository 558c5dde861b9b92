import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ALL_USERS as ALL, createMockBackend, mockUsers, queryUsers } from "../backend/mock";
import type { UserFilter } from "../bindings/UserFilter";
import type { UserRows } from "../bindings/UserRows";
import { columnTexts, renderApp } from "../test/render";
import { PAGE_SIZE } from "./useUserPages";


/** What the real backend would list first for `filter`, by name. */
function expectedNames(users: number, filter: Partial<UserFilter>, count: number): string[] {
  return queryUsers(mockUsers(users), { ...ALL, ...filter })
    .rows.slice(0, count)
    .map((u) => u.name);
}

async function table() {
  return screen.findByTestId("users-table");
}

describe("users table", () => {
  it("shows the users from the backend, sorted by name, with their count", async () => {
    renderApp(createMockBackend({ users: 64 }));
    expect(await screen.findByText("64 users")).toBeTruthy();
    const names = columnTexts("name");
    expect(names.length).toBeGreaterThan(10);
    expect(names).toEqual(expectedNames(64, {}, names.length));
    const first = screen.getAllByTestId("user-row")[0]!;
    expect(first.getAttribute("role")).toBe("row");
    // Avery Quinn is user 0: an active admin in workspaces picked by bits of 3.
    const avery = screen.getAllByTestId("user-row").find((r) => r.textContent?.includes("avery.quinn@northwind.example"));
    expect(avery).toBeTruthy();
    const cells = within(avery!).getAllByRole("cell").map((c) => c.textContent);
    expect(cells.slice(0, 5)).toEqual(["Avery Quinn", "avery.quinn@northwind.example", "Admin", "Active", "Platform, Research"]);
  });

  it("renders only the rows in view and fetches by pages", async () => {
    const { backend } = renderApp(createMockBackend({ users: 5000 }));
    await screen.findByText(/^5\D?000 users$/);
    const rendered = screen.getAllByTestId("user-row").length;
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(100);
    expect(backend.listUsersCalls.every((f) => f.limit === PAGE_SIZE)).toBe(true);
    expect(backend.listUsersCalls.map((f) => f.offset)).toEqual([0]);
  });

  it("fetches the page of the rows scrolled to", async () => {
    const { backend } = renderApp(createMockBackend({ users: 5000 }));
    const container = await table();
    await screen.findByText(/^5\D?000 users$/);
    act(() => {
      container.scrollTop = 32 * 1000;
      fireEvent.scroll(container);
    });
    const expected = expectedNames(5000, { offset: 1000 }, 1)[0]!;
    await waitFor(() => expect(columnTexts("name")).toContain(expected));
    expect(backend.listUsersCalls.map((f) => f.offset)).toContain(1000);
  });

  it("filters as one types, by name or e-mail, ignoring case", async () => {
    renderApp(createMockBackend({ users: 300 }));
    await screen.findByText("300 users");
    fireEvent.change(screen.getByTestId("user-search"), { target: { value: "  CHEN " } });
    const expected = queryUsers(mockUsers(300), { ...ALL, query: "chen" });
    expect(expected.total).toBeGreaterThan(0);
    expect(await screen.findByText(`${expected.total} users`)).toBeTruthy();
    expect(columnTexts("name")).toEqual(expected.rows.map((u) => u.name));
    expect(columnTexts("name").every((n) => n.includes("Chen"))).toBe(true);
  });

  it("keeps the previous rows on screen while a new search loads", async () => {
    const backend = createMockBackend({ users: 64 });
    const list = backend.listUsers;
    let release: () => void = () => {};
    backend.listUsers = (filter) =>
      filter.query === ""
        ? list(filter)
        : new Promise<UserRows>((resolve) => {
            release = () => resolve(queryUsers(backend.users, filter));
          });
    renderApp(backend);
    await screen.findByText("64 users");
    const before = columnTexts("name");

    const rowsFor = () => {
      const json = screen.getByTestId("users-table").getAttribute("data-rows-for");
      return json === null ? null : (JSON.parse(json) as { query: string }).query;
    };
    expect(rowsFor()).toBe("");
    fireEvent.change(screen.getByTestId("user-search"), { target: { value: "avery" } });
    await waitFor(() => expect(screen.getByTestId("users-table").getAttribute("aria-busy")).toBe("true"));
    expect(columnTexts("name")).toEqual(before);
    expect(screen.queryByText("No users match")).toBeNull();
    // The rows on screen are not the new search's yet.
    expect(rowsFor()).toBeNull();

    act(() => release());
    await waitFor(() => expect(columnTexts("name").every((n) => n.includes("Avery"))).toBe(true));
    expect(screen.getByTestId("users-table").getAttribute("aria-busy")).toBe("false");
    expect(rowsFor()).toBe("avery");
  });

  it("says so when nothing matches", async () => {
    renderApp();
    await screen.findByText("64 users");
    fireEvent.change(screen.getByTestId("user-search"), { target: { value: "zzz-nobody" } });
    expect(await screen.findByText("No users match")).toBeTruthy();
    expect(screen.getByText("0 users")).toBeTruthy();
    expect(screen.queryAllByTestId("user-row")).toHaveLength(0);
  });

  it("filters by role and by status", async () => {
    renderApp(createMockBackend({ users: 120 }));
    await screen.findByText("120 users");

    fireEvent.change(screen.getByRole("combobox", { name: "Role" }), { target: { value: "auditor" } });
    const auditors = queryUsers(mockUsers(120), { ...ALL, role: "auditor" }).total;
    expect(await screen.findByText(`${auditors} users`)).toBeTruthy();
    expect(auditors).toBeLessThan(120);
    expect(new Set(columnTexts("role"))).toEqual(new Set(["Auditor"]));

    fireEvent.change(screen.getByRole("combobox", { name: "Status" }), { target: { value: "pending" } });
    const pending = queryUsers(mockUsers(120), { ...ALL, role: "auditor", status: "pending" }).total;
    expect(pending).toBeGreaterThan(0);
    expect(await screen.findByText(`${pending} ${pending === 1 ? "user" : "users"}`)).toBeTruthy();
    expect(new Set(columnTexts("status"))).toEqual(new Set(["Pending"]));
  });

  it("sorts by the clicked column, and reverses on a second click", async () => {
    renderApp(createMockBackend({ users: 64 }));
    await screen.findByText("64 users");
    const emailHeader = screen.getByRole("button", { name: /E-mail/ });

    fireEvent.click(emailHeader);
    const ascending = queryUsers(mockUsers(64), { ...ALL, sort: "email" }).rows.map((u) => u.email);
    await waitFor(() => expect(columnTexts("email")[0]).toBe(ascending[0]));
    const shown = columnTexts("email");
    expect(shown).toEqual(ascending.slice(0, shown.length));
    expect(screen.getByRole("columnheader", { name: /E-mail/ }).getAttribute("aria-sort")).toBe("ascending");

    fireEvent.click(emailHeader);
    const descending = [...ascending].reverse();
    await waitFor(() => expect(columnTexts("email")[0]).toBe(descending[0]));
    expect(screen.getByRole("columnheader", { name: /E-mail/ }).getAttribute("aria-sort")).toBe("descending");
  });

  it("sorts dates newest first on the first click", async () => {
    renderApp(createMockBackend({ users: 64 }));
    await screen.findByText("64 users");
    fireEvent.click(screen.getByRole("button", { name: /Created/ }));
    const newest = queryUsers(mockUsers(64), { ...ALL, sort: "created_at", descending: true }).rows[0]!;
    await waitFor(() => expect(columnTexts("email")[0]).toBe(newest.email));
    expect(screen.getByRole("columnheader", { name: /Created/ }).getAttribute("aria-sort")).toBe("descending");
  });

  it("focuses the search on / and clears it on Escape", async () => {
    renderApp();
    await screen.findByText("64 users");
    const search = screen.getByTestId<HTMLInputElement>("user-search");
    expect(document.activeElement).not.toBe(search);

    fireEvent.keyDown(document.body, { key: "/" });
    expect(document.activeElement).toBe(search);

    fireEvent.change(search, { target: { value: "quinn" } });
    await waitFor(() => expect(screen.getByText(/^\d+ users?$/).textContent).not.toBe("64 users"));
    fireEvent.keyDown(search, { key: "Escape" });
    expect(search.value).toBe("");
    expect(await screen.findByText("64 users")).toBeTruthy();
  });

  it("shows a failing query's message", async () => {
    const backend = createMockBackend();
    backend.listUsersError = { code: "cache_corrupt", message: "The local cache could not be read." };
    renderApp(backend);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("The local cache could not be read.");
  });
});
