import { ScreenPlaceholder } from "../shell/ScreenPlaceholder";

export function UsageScreen() {
  return <ScreenPlaceholder title="Usage">Requests, tokens and spend by user, workspace and model.</ScreenPlaceholder>;
}
