import { useId, type ReactNode } from "react";

/** A screen whose content is not in this version yet: its heading and a calm empty state. */
export function ScreenPlaceholder({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="screen" aria-labelledby={id}>
      <div className="screen-head">
        <h1 id={id}>{title}</h1>
      </div>
      <div className="empty-state" data-testid="empty-state">
        <p className="empty-title">Nothing here yet</p>
        <p className="muted">{children}</p>
      </div>
    </section>
  );
}
