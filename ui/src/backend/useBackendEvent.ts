import { useEffect, useEffectEvent } from "react";

/** Calls `cb` with each event `subscribe` delivers while the component is mounted. */
export function useBackendEvent<T>(
  subscribe: (cb: (value: T) => void) => Promise<() => void>,
  cb: (value: T) => void,
): void {
  const onEvent = useEffectEvent(cb);
  useEffect(() => {
    let stop: (() => void) | undefined;
    let gone = false;
    void subscribe((value) => onEvent(value)).then((unlisten) => (gone ? unlisten() : (stop = unlisten)));
    return () => {
      gone = true;
      stop?.();
    };
  }, [subscribe]);
}
