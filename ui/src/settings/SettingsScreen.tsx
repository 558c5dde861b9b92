import type { AppStatus } from "../bindings/AppStatus";

export function SettingsScreen(_: { status: AppStatus }) {
  return (
    <section className="screen" aria-labelledby="settings-title">
      <div className="screen-head">
        <h1 id="settings-title">Settings</h1>
      </div>
    </section>
  );
}
