import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  // The packaged app loads index.html from disk, so asset URLs must be relative.
  base: "./",
  // Keep the Tauri CLI's Rust build output on screen.
  clearScreen: false,
  envPrefix: ["VITE_", "TAURI_"],
  // Tauri's devUrl points at this exact port; another one would load nothing.
  server: { port: 1420, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true },
  test: {
    environment: "happy-dom",
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
