import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// The test files run in parallel on shared machines: a screen's first render (a lazy chunk, its
// first queries) can take longer than the default second while the other files run beside it.
configure({ asyncUtilTimeout: 5000 });

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
