import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import { LogsSection } from "./LogsSection";
import { ProfilesSection } from "./ProfilesSection";
import { SyncSection } from "./SyncSection";
import { UpdatesSection } from "./UpdatesSection";

export function SettingsScreen({ status }: { status: AppStatus }) {
  return (
    <section className="screen settings" aria-labelledby="settings-title">
      <div className="screen-head">
        <h1 id="settings-title">Settings</h1>
      </div>
      <div className="settings-body">
        <ProfilesSection status={status} />
        <SyncSection status={status} />
        <LaterSection title="Cache size and clear" action="Clear cache">
          How much room this profile's cache takes on this computer, and clearing it.
        </LaterSection>
        <UpdatesSection />
        <LogsSection />
        <AboutSection />
      </div>
    </section>
  );
}

/** A section this version does not offer yet: said plainly, its button disabled. */
function LaterSection({ title, action, children }: { title: string; action: string; children: string }) {
  return (
    <section className="settings-section unavailable" aria-label={title} aria-disabled="true" data-testid="unavailable-section">
      <h2>{title}</h2>
      <p className="muted">{children} Not available in this version.</p>
      <div>
        <button type="button" className="button" disabled>
          {action}
        </button>
      </div>
    </section>
  );
}

function AboutSection() {
  const backend = useBackend();
  const version = useQuery({ queryKey: ["app-version"], queryFn: () => backend.appVersion() });
  return (
    <section className="settings-section" aria-labelledby="about-title">
      <h2 id="about-title">About</h2>
      <p>
        <strong>Gatehouse</strong>{" "}
        <span className="muted" data-testid="app-version">
          {version.data ? `Version ${version.data}` : version.error ? "Version unknown" : ""}
        </span>
      </p>
      <p className="muted">An admin console for the gateway: users, access, limits and usage.</p>
    </section>
  );
}
