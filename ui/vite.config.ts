import { defineConfig } from "vitest/config";

// No @vitejs/plugin-react: its Fast Refresh preamble is an inline <script>, which the app's
// CSP (default-src 'self') refuses. Vite compiles TSX itself (tsconfig "jsx": "react-jsx");
// an edit reloads the page instead of hot-swapping the component.
export default defineConfig({
  // Relative asset URLs work whatever origin the webview serves index.html from.
  base: "./",
  // Keep the Tauri CLI's Rust build output on screen.
  clearScreen: false,
  envPrefix: ["VITE_", "TAURI_"],
  // Tauri's devUrl points at this exact port; another one would load nothing.
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rolldownOptions: {
      onwarn(warning, warn) {
        // "use client" marks React Server Components boundaries, which a desktop SPA has none of.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" && warning.message.includes('"use client"')) return;
        warn(warning);
      },
    },
  },
  test: {
    environment: "happy-dom",
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    // Above the 5 s a single wait may take (src/test/setup.ts).
    testTimeout: 20000,
  },
});
