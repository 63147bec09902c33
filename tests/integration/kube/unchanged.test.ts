import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeconfigClusters, type KubeTarget } from "@/lib/kube/clusters";
import { inventoryCluster } from "@/lib/kube/inventory";
import type { ListVersions } from "@/lib/kube/types";
import { listsUnchangedSince } from "@/lib/kube/unchanged";
import { createNamespace, createPod, startKubeApiserver, type KubeApiserver } from "@/tests/support/kube-apiserver";

/**
 * A real kube-apiserver: an inventory made of complete lists records where they were taken, and a
 * later check proves "nothing changed since" without listing — or says what changed.
 */
describe("lists unchanged since an inventory", () => {
  let kube: KubeApiserver;
  let target: KubeTarget;

  const versionsNow = async (): Promise<ListVersions> => {
    const inv = await inventoryCluster(target, { pageSize: 2 });
    expect(inv.error).toBeNull();
    expect(inv.listVersions).toBeDefined();
    return inv.listVersions!;
  };

  beforeAll(async () => {
    kube = await startKubeApiserver();
    await createNamespace(kube, "apps");
    for (const name of ["a", "b", "c"]) await createPod(kube, { namespace: "apps", name, containers: [{ name: "app", image: `registry.example.com/apps/${name}:1` }] });
    [target] = loadKubeconfigClusters({ kubeconfigPath: kube.kubeconfigPath, contexts: ["admin"] }) as [KubeTarget];
  }, 120_000);

  afterAll(async () => {
    await kube?.stop();
  });

  it("an inventory of complete lists records their resourceVersions and the server", async () => {
    const v = await versionsNow();
    expect(v.server).toBe(target.server);
    for (const rv of [v.namespaces, v.pods, v.replicasets, v.jobs]) expect(rv).toMatch(/^[0-9]+$/);
  }, 60_000);

  it("nothing written since: unchanged; a pod changed, a pod deleted, a namespace created: changed", async () => {
    let since = await versionsNow();
    expect(await listsUnchangedSince(target, since)).toEqual({ unchanged: true, why: expect.any(String) });

    await kube.request("PATCH", "/api/v1/namespaces/apps/pods/a", { metadata: { labels: { touched: "yes" } } }, { contentType: "application/merge-patch+json" });
    const modified = await listsUnchangedSince(target, since);
    expect(modified.unchanged).toBe(false);
    expect(modified.why).toMatch(/\/api\/v1\/pods: modified/);

    since = await versionsNow();
    expect((await listsUnchangedSince(target, since)).unchanged).toBe(true);
    await kube.request("DELETE", "/api/v1/namespaces/apps/pods/b?gracePeriodSeconds=0");
    expect((await listsUnchangedSince(target, since)).unchanged).toBe(false);

    since = await versionsNow();
    await createNamespace(kube, "more");
    const ns = await listsUnchangedSince(target, since);
    expect(ns.unchanged).toBe(false);
    expect(ns.why).toMatch(/\/api\/v1\/namespaces: added/);
    // (other resources written meanwhile move the server's resourceVersion: pods still prove unchanged by bookmark)
    since = await versionsNow();
    await createNamespace(kube, "even-more");
    const later = await versionsNow();
    expect((await listsUnchangedSince(target, { ...later, pods: since.pods })).unchanged).toBe(true);
  }, 120_000);

  it("tells once, before its answer, when it waits on the server; a caller busy meanwhile gets the same answer", async () => {
    const since = await versionsNow();
    const seen: string[] = [];
    const proof = listsUnchangedSince(target, since, {
      onWaiting: () => {
        seen.push("waiting");
        // the caller's own work (signet scan loads its pipeline here): the server's answer waits in the socket
        const until = Date.now() + 1500;
        while (Date.now() < until);
      },
    });
    const answer = await proof;
    seen.push("answer");
    expect(answer).toEqual({ unchanged: true, why: expect.any(String) });
    expect(seen).toEqual(["waiting", "answer"]);

    // answered before any watch (another server): told all the same, once
    const told: string[] = [];
    expect((await listsUnchangedSince(target, { ...since, server: "https://elsewhere.example:6443" }, { onWaiting: () => told.push("waiting") })).unchanged).toBe(false);
    expect(told).toEqual(["waiting"]);
  }, 60_000);

  it("another server, versions that are not numbers, or a version from the future: changed, never a guess", async () => {
    const since = await versionsNow();
    expect(await listsUnchangedSince(target, { ...since, server: "https://elsewhere.example:6443" })).toEqual({ unchanged: false, why: "another API server" });
    expect((await listsUnchangedSince(target, { ...since, pods: "abc" })).unchanged).toBe(false);
    const future = (BigInt(since.pods) + 1_000_000n).toString();
    expect(await listsUnchangedSince(target, { ...since, pods: future })).toEqual({ unchanged: false, why: expect.stringMatching(/went back/) });
  }, 60_000);
});
