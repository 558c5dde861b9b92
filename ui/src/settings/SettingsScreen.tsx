import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import type { AppStatus } from "../bindings/AppStatus";
import { ScreenHead } from "../shared/ScreenHead";
import { AccessProfilesSection } from "./AccessProfilesSection";
import { AppearanceSection } from "./AppearanceSection";
import { CacheSection } from "./CacheSection";
import { IdentitySection } from "./IdentitySection";
import { LogsSection } from "./LogsSection";
import { NotificationsSection } from "./NotificationsSection";
import { ProfilesSection } from "./ProfilesSection";
import { SyncSection } from "./SyncSection";
import { UpdatesSection } from "./UpdatesSection";

export function SettingsScreen({ status }: { status: AppStatus }) {
  return (
    <section className="screen settings" aria-labelledby="settings-title">
      <ScreenHead id="settings-title" title="Settings" />
      <div className="settings-body">
        <ProfilesSection status={status} />
        <SyncSection status={status} />
        <CacheSection status={status} />
        <IdentitySection status={status} />
        <AccessProfilesSection status={status} />
        <NotificationsSection status={status} />
        <AppearanceSection />
        <UpdatesSection />
        <LogsSection />
        <AboutSection />
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
