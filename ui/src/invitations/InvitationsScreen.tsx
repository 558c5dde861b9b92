import { ScreenPlaceholder } from "../shell/ScreenPlaceholder";

export function InvitationsScreen() {
  return <ScreenPlaceholder title="Invitations">Invitations sent to join the organisation, and whether they were accepted.</ScreenPlaceholder>;
}
