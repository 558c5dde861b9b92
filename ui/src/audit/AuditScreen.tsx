import { ScreenPlaceholder } from "../shell/ScreenPlaceholder";

export function AuditScreen() {
  return <ScreenPlaceholder title="Audit log">Who changed what in the organisation, and when.</ScreenPlaceholder>;
}
