/**
 * Where lib/registry/transport reports each registry request. lib/metrics/process.ts installs the
 * Prometheus sink when a process loads it (worker, web); the CLI never does, so `signet verify` does
 * not load prom-client.
 */
export type RegistryRequestObserver = (host: string, status: number | string, seconds: number) => void;

let observer: RegistryRequestObserver | undefined;

export function observeRegistryRequests(o: RegistryRequestObserver): void {
  observer = o;
}

export function reportRegistryRequest(host: string, status: number | string, seconds: number): void {
  observer?.(host, status, seconds);
}
