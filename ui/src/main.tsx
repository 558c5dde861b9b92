import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App, AppProviders } from "./App";
import { tauriBackend } from "./backend/tauri";
import { createQueryClient } from "./queryClient";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");

createRoot(root).render(
  <StrictMode>
    <AppProviders backend={tauriBackend} queryClient={createQueryClient()}>
      <App />
    </AppProviders>
  </StrictMode>,
);
