import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createMockBackend, mockUsers } from "../backend/mock";
import type { UserRows } from "../bindings/UserRows";
import { columnTexts, renderApp } from "../test/render";
import { PAGE_SIZE } from "./useUserPages";

// The cache searches, filters and sorts (crates/core/tests/queries.rs); here the mock answers
// each filter with the users a test prepared, and the tests check what the screen asks and shows.

async function table() {
  return screen.findByTestId("users-table");
}

describe("users table", () => {
  it("shows the users from the backend, asked for by name, with their count", async () => {
    const { backend } = renderApp(createMockBackend({ users: 64 }));
    expect(await screen.findByText("64 users")).toBeTruthy();
    expect(backend.listUsersCalls[0]).toMatchObject({ query: "", role: null, status: null, sort: "name", descending: false });
    const names = columnTexts("name");
    expect(names.length).toBeGreaterThan(10);
    expect(names).toEqual(mockUsers(64).slice(0, names.length).map((u) => u.name));
    // Accounts an identity provider manages carry a marker, and only those.
    const marked = screen
      .getAllByTestId("user-row")
      .filter((r) => within(r).queryByTitle("Managed by your identity provider (SCIM)"))
      .map((r) => r.querySelector(".name")?.textContent);
    const managed = mockUsers(64).filter((u) => u.scim_managed).map((u) => u.name);
    expect(marked.length).toBeGreaterThan(0);
    expect(marked).toEqual(managed.filter((n) => names.includes(n)));
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
    const expected = mockUsers(5000)[1000]!.name;
    await waitFor(() => expect(columnTexts("name")).toContain(expected));
    expect(backend.listUsersCalls.map((f) => f.offset)).toContain(1000);
  });

  it("filters as one types: the cache gets the text trimmed, and its matches are shown", async () => {
    const backend = createMockBackend({ users: 300 });
    const chens = mockUsers(300).filter((u) => u.name.endsWith(" Chen"));
    backend.userAnswers = [{ when: { query: "CHEN" }, rows: chens }];
    renderApp(backend);
    await screen.findByText("300 users");
    fireEvent.change(screen.getByTestId("user-search"), { target: { value: "  CHEN " } });
    expect(await screen.findByText(`${chens.length} users`)).toBeTruthy();
    expect(backend.listUsersCalls.at(-1)).toMatchObject({ query: "CHEN", offset: 0 });
    expect(columnTexts("name")).toEqual(chens.map((u) => u.name));
  });

  it("keeps the previous rows on screen while a new search loads", async () => {
    const backend = createMockBackend({ users: 64 });
    const averys = backend.users.filter((u) => u.name.startsWith("Avery "));
    const list = backend.listUsers;
    let release: () => void = () => {};
    backend.listUsers = (filter) =>
      filter.query === ""
        ? list(filter)
        : new Promise<UserRows>((resolve) => {
            release = () => resolve({ total: averys.length, rows: averys });
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
    const backend = createMockBackend();
    backend.userAnswers = [{ when: { query: "zzz-nobody" }, rows: [] }];
    renderApp(backend);
    await screen.findByText("64 users");
    fireEvent.change(screen.getByTestId("user-search"), { target: { value: "zzz-nobody" } });
    expect(await screen.findByText("No users match")).toBeTruthy();
    expect(screen.getByText("0 users")).toBeTruthy();
    expect(screen.queryAllByTestId("user-row")).toHaveLength(0);
  });

  it("filters by role and by status", async () => {
    const backend = createMockBackend({ users: 120 });
    const auditors = backend.users.filter((u) => u.role === "auditor");
    const pending = auditors.filter((u) => u.status === "pending");
    backend.userAnswers = [
      { when: { role: "auditor", status: "pending" }, rows: pending },
      { when: { role: "auditor", status: null }, rows: auditors },
    ];
    renderApp(backend);
    await screen.findByText("120 users");

    fireEvent.change(screen.getByRole("combobox", { name: "Role" }), { target: { value: "auditor" } });
    expect(await screen.findByText(`${auditors.length} users`)).toBeTruthy();
    expect(backend.listUsersCalls.at(-1)).toMatchObject({ role: "auditor", status: null });
    expect(new Set(columnTexts("role"))).toEqual(new Set(["Auditor"]));

    fireEvent.change(screen.getByRole("combobox", { name: "Status" }), { target: { value: "pending" } });
    expect(pending.length).toBeGreaterThan(0);
    expect(await screen.findByText(`${pending.length} ${pending.length === 1 ? "user" : "users"}`)).toBeTruthy();
    expect(backend.listUsersCalls.at(-1)).toMatchObject({ role: "auditor", status: "pending" });
    expect(new Set(columnTexts("status"))).toEqual(new Set(["Pending"]));
  });

  it("sorts by the clicked column, and reverses on a second click", async () => {
    const backend = createMockBackend({ users: 64 });
    // The cache's answers, in its order; any order other than the first tells them apart.
    const ascending = backend.users.slice(32);
    const descending = [...ascending].reverse();
    backend.userAnswers = [
      { when: { sort: "email", descending: false }, rows: ascending },
      { when: { sort: "email", descending: true }, rows: descending },
    ];
    renderApp(backend);
    await screen.findByText("64 users");
    const emailHeader = screen.getByRole("button", { name: /E-mail/ });

    fireEvent.click(emailHeader);
    await waitFor(() => expect(columnTexts("email")[0]).toBe(ascending[0]!.email));
    const shown = columnTexts("email");
    expect(shown).toEqual(ascending.slice(0, shown.length).map((u) => u.email));
    expect(screen.getByRole("columnheader", { name: /E-mail/ }).getAttribute("aria-sort")).toBe("ascending");

    fireEvent.click(emailHeader);
    await waitFor(() => expect(columnTexts("email")[0]).toBe(descending[0]!.email));
    expect(screen.getByRole("columnheader", { name: /E-mail/ }).getAttribute("aria-sort")).toBe("descending");
  });

  it("sorts dates newest first on the first click", async () => {
    const backend = createMockBackend({ users: 64 });
    const newestFirst = [...backend.users].reverse();
    backend.userAnswers = [{ when: { sort: "created_at", descending: true }, rows: newestFirst }];
    renderApp(backend);
    await screen.findByText("64 users");
    fireEvent.click(screen.getByRole("button", { name: /Created/ }));
    await waitFor(() => expect(columnTexts("email")[0]).toBe(newestFirst[0]!.email));
    expect(backend.listUsersCalls.at(-1)).toMatchObject({ sort: "created_at", descending: true });
    expect(screen.getByRole("columnheader", { name: /Created/ }).getAttribute("aria-sort")).toBe("descending");
  });

  it("focuses the search on / and clears it on Escape", async () => {
    const backend = createMockBackend();
    backend.userAnswers = [{ when: { query: "quinn" }, rows: backend.users.filter((u) => u.name.endsWith(" Quinn")) }];
    renderApp(backend);
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
