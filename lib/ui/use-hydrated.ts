import { useSyncExternalStore } from "react";

const subscribe = () => () => undefined;

/**
 * False during server rendering and hydration, true once React runs in the browser. Interactive
 * parts mark themselves `data-hydrated` with it, so tests (and impatient users' clicks) wait for
 * handlers to be attached rather than typing into inert server HTML.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
