import { useState } from "react";
import { screenHref, type ScreenId } from "../shell/router";
import { useAvailableUpdate } from "./useAvailableUpdate";

/** Says so when a check (the one at start, mostly) found a newer version; until dismissed. */
export function UpdateBanner({ onNavigate }: { onNavigate: (id: ScreenId) => void }) {
  const update = useAvailableUpdate().data;
  const [dismissed, setDismissed] = useState<string | null>(null);
  if (!update || dismissed === update.version) return null;
  return (
    <div className="update-banner" role="status" data-testid="update-banner">
      <span>
        <strong>Gatehouse {update.version} is available.</strong> You have {update.current_version}.
      </span>
      <a
        href={screenHref("settings")}
        onClick={(e) => {
          e.preventDefault();
          onNavigate("settings");
        }}
      >
        Update in Settings
      </a>
      <button type="button" className="button" onClick={() => setDismissed(update.version)}>
        Later
      </button>
    </div>
  );
}
