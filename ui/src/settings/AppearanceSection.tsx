import type { Theme } from "../bindings/Theme";
import { FormError } from "../shared/forms";
import { useSettings } from "./useSettings";

export const THEMES: readonly { theme: Theme; label: string }[] = [
  { theme: "system", label: "As the desktop (light or dark)" },
  { theme: "light", label: "Light" },
  { theme: "dark", label: "Dark" },
];

/** Light, dark, or as the desktop is: saved with the settings and shown at once. */
export function AppearanceSection() {
  const { settings, change, saving, error } = useSettings();
  return (
    <section className="settings-section" aria-labelledby="appearance-title">
      <h2 id="appearance-title">Appearance</h2>
      <div className="field">
        <label htmlFor="theme">Theme</label>
        <select
          id="theme"
          value={settings?.theme ?? ""}
          disabled={!settings || saving}
          onChange={(e) => change({ theme: THEMES.find((t) => t.theme === e.target.value)?.theme ?? "system" })}
        >
          {!settings && <option value="">…</option>}
          {THEMES.map((t) => (
            <option key={t.theme} value={t.theme}>
              {t.label}
            </option>
          ))}
        </select>
      </div>
      <FormError error={error} />
    </section>
  );
}
