import { ScreenPlaceholder } from "../shell/ScreenPlaceholder";

export function WorkspacesScreen() {
  return <ScreenPlaceholder title="Workspaces">The organisation's workspaces, their members and their models.</ScreenPlaceholder>;
}
