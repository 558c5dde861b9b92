import { useId, type ReactNode } from "react";
import { ScreenHead } from "../shared/ScreenHead";

/** A screen whose content is not in this version yet: its heading and a calm empty state. */
export function ScreenPlaceholder({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="screen" aria-labelledby={id}>
      <ScreenHead id={id} title={title} />
      <div className="empty-state" data-testid="empty-state">
        <p className="empty-title">Nothing here yet</p>
        <p className="muted">{children}</p>
      </div>
    </section>
  );
}
