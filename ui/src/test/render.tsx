import { render, screen, within } from "@testing-library/react";
import { App, AppProviders } from "../App";
import { createMockBackend, type MockBackend } from "../backend/mock";
import { FixedChartWidth } from "../charts/kit";
import { createQueryClient } from "../queryClient";

export function renderApp(backend: MockBackend = createMockBackend()) {
  const result = render(
    <FixedChartWidth.Provider value={720}>
      <AppProviders backend={backend} queryClient={createQueryClient()}>
        <App />
      </AppProviders>
    </FixedChartWidth.Provider>,
  );
  return { backend, ...result };
}

export const COLUMN = { name: 0, email: 1, role: 2, status: 3, workspaces: 4, lastActive: 5, created: 6 } as const;

/** The text of one column in every rendered user row, top to bottom (of the name column, the
 * name without its markers). */
export function columnTexts(column: keyof typeof COLUMN): string[] {
  return screen.queryAllByTestId("user-row").map((row) => {
    const cell = within(row).getAllByRole("cell")[COLUMN[column]];
    const text = column === "name" ? cell?.querySelector(".name") : cell;
    return text?.textContent ?? "";
  });
}
