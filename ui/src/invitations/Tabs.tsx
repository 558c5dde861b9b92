import { useRef } from "react";

/** Tabs as a tablist: Left/Right (and Home/End) move between them, like the platform's tabs. */
export function Tabs<T extends string>(props: {
  label: string;
  tabs: readonly { value: T; label: string; count?: number | undefined }[];
  value: T;
  onChange: (value: T) => void;
}) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const move = (index: number) => {
    const n = props.tabs.length;
    const next = props.tabs[(index + n) % n]!;
    props.onChange(next.value);
    refs.current[(index + n) % n]?.focus();
  };
  const current = props.tabs.findIndex((t) => t.value === props.value);
  return (
    <div
      className="tabs"
      role="tablist"
      aria-label={props.label}
      onKeyDown={(e) => {
        const to = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: props.tabs.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        move(to);
      }}
    >
      {props.tabs.map((t, i) => (
        <button
          key={t.value}
          ref={(el) => {
            refs.current[i] = el;
          }}
          type="button"
          role="tab"
          className="tab"
          aria-selected={t.value === props.value}
          tabIndex={t.value === props.value ? 0 : -1}
          onClick={() => props.onChange(t.value)}
        >
          {t.label}
          {t.count !== undefined && <span className="tab-count">{t.count}</span>}
        </button>
      ))}
    </div>
  );
}
