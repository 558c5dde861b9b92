import { ScreenPlaceholder } from "../shell/ScreenPlaceholder";

export function OverviewScreen() {
  return <ScreenPlaceholder title="Overview">Seats, spend and the gateway's health at a glance.</ScreenPlaceholder>;
}
