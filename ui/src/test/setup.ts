import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
  // Every test starts at the default screen; replaceState moves without a hashchange.
  history.replaceState(null, "", window.location.pathname);
});

// happy-dom does no layout, so every element would measure 0 × 0 and the virtualizer would
// render no rows at all. Give elements the inner size of a small window instead.
Object.defineProperties(HTMLElement.prototype, {
  clientHeight: { configurable: true, get: () => 600 },
  clientWidth: { configurable: true, get: () => 1000 },
});
