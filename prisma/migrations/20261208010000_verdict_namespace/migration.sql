-- The containers list by verdict under a policy in a cluster or namespace (lib/data/drilldown
-- listContainersInBuckets, ADR 0026) reads the policy's verdicts in those namespaces from an index,
-- instead of joining every verdict of the policy with its container and pod to find the scope's.
-- Verdict."namespaceId" is its container's pod's namespace. The evaluation writes it (it reads each
-- container with its pod and namespace in the transaction that inserts the verdict: lib/scan/
-- evaluate-image); an insert that leaves it NULL (any other writer: a test, a seed) gets it from the
-- trigger below — only then, as a trigger per inserted row doubled the cost of inserting 160,000
-- verdicts. An update recomputes it when it or the container changes, and it follows a pod or a
-- container that moves (Kubernetes moves neither — a pod's uid is its upsert key, a container's pod is
-- in its key — so those triggers, guarded by WHEN, fire on no write a scan makes). A cluster's
-- verdicts are those of its namespaces. No foreign key: the container's own (cascading) is the link,
-- and it would cost every insert a second lookup.
ALTER TABLE "Verdict" ADD COLUMN "namespaceId" UUID;
-- the verdicts stored before (in this migration's transaction, before the triggers exist)
UPDATE "Verdict" v SET "namespaceId" = p."namespaceId" FROM "Container" c JOIN "Pod" p ON p.id = c."podId" WHERE c.id = v."containerId";

CREATE FUNCTION signet_verdict_namespace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT p."namespaceId" INTO NEW."namespaceId" FROM "Container" c JOIN "Pod" p ON p.id = c."podId" WHERE c.id = NEW."containerId";
  RETURN NEW;
END $$;
CREATE TRIGGER "Verdict_namespace_insert" BEFORE INSERT ON "Verdict" FOR EACH ROW
  WHEN (NEW."namespaceId" IS NULL)
  EXECUTE FUNCTION signet_verdict_namespace();
CREATE TRIGGER "Verdict_namespace_update" BEFORE UPDATE ON "Verdict" FOR EACH ROW
  WHEN (OLD."containerId" IS DISTINCT FROM NEW."containerId" OR OLD."namespaceId" IS DISTINCT FROM NEW."namespaceId")
  EXECUTE FUNCTION signet_verdict_namespace();

CREATE FUNCTION signet_pod_namespace_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "Verdict" v SET "namespaceId" = NEW."namespaceId" FROM "Container" c WHERE c."podId" = NEW.id AND v."containerId" = c.id;
  RETURN NULL;
END $$;
CREATE TRIGGER "Pod_verdict_namespace" AFTER UPDATE ON "Pod" FOR EACH ROW
  WHEN (OLD."namespaceId" IS DISTINCT FROM NEW."namespaceId")
  EXECUTE FUNCTION signet_pod_namespace_moved();

CREATE FUNCTION signet_container_pod_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "Verdict" SET "namespaceId" = (SELECT "namespaceId" FROM "Pod" WHERE id = NEW."podId") WHERE "containerId" = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER "Container_verdict_namespace" AFTER UPDATE ON "Container" FOR EACH ROW
  WHEN (OLD."podId" IS DISTINCT FROM NEW."podId")
  EXECUTE FUNCTION signet_container_pod_moved();

CREATE INDEX "Verdict_policyId_namespaceId_value_containerId_idx" ON "Verdict"("policyId", "namespaceId", "value", "containerId");
