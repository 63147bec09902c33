/**
 * A TCP pass-through proxy on 127.0.0.1 that a test can cut: `cut()` destroys every open connection
 * (a long-running watch sees its stream reset, as when an API server restarts or a load balancer
 * drops it) and resets every new one until `restore()`. TLS passes through untouched, so a client
 * verifying the upstream's certificate (issued for 127.0.0.1) keeps doing so.
 */
import net from "node:net";

export interface TcpProxy {
  /** The port clients connect to. */
  port: number;
  /** Connections accepted so far (cut ones included). */
  connections(): number;
  cut(): void;
  restore(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(upstream: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let cut = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const up = net.connect(upstream.port, upstream.host);
    open.add(client);
    open.add(up);
    const close = () => {
      client.destroy();
      up.destroy();
      open.delete(client);
      open.delete(up);
    };
    client.on("error", close).on("close", close);
    up.on("error", close).on("close", close);
    client.pipe(up);
    up.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => accepted,
    cut() {
      cut = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
