import { ScreenPlaceholder } from "../shell/ScreenPlaceholder";

export function GroupsScreen() {
  return <ScreenPlaceholder title="Groups">Groups of users that share model access, limits and budgets.</ScreenPlaceholder>;
}
