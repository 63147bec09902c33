import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { KubeApiserver } from "@/tests/support/kube-apiserver";

/**
 * Plain HTTP on 127.0.0.1 in front of a test kube-apiserver, streaming every request to it (watches
 * included) — except those `intercept` takes: it gets the request, its response and `forward` (to send
 * it on later, or never). A kubeconfig reaches it with `insecure: true` (client-node speaks plain HTTP
 * only with TLS verification off).
 */
export interface KubeHttpProxy {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Every request's URL (path and query), in order. */
  seen: string[];
  stop(): Promise<void>;
}

export type Intercept = (req: http.IncomingMessage, res: http.ServerResponse, forward: () => void) => boolean;

export async function startKubeHttpProxy(kube: KubeApiserver, intercept: Intercept = () => false): Promise<KubeHttpProxy> {
  const upstream = new URL(kube.url);
  const seen: string[] = [];
  const proxy = http.createServer((req, res) => {
    const forward = () => {
      const up = https.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, ca: kube.caPem },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    };
    seen.push(req.url ?? "");
    if (!intercept(req, res, forward)) forward();
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    seen,
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    },
  };
}

/** Whether a request URL is a watch. */
export const isWatch = (url: string | undefined) => /[?&]watch=(true|1)(&|$)/.test(url ?? "");
