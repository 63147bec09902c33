-- A coverage snapshot is a function of the rows containerVerdictsQuery (lib/data/report.ts) reads:
-- the running containers (Container, Pod, Namespace, Cluster) and their verdicts. Every transaction
-- that changes one of those rows leaves its id here (one row per transaction, written by the
-- triggers below in the same transaction, so it becomes visible exactly when the change does).
-- A snapshot records the visibility snapshot (pg_snapshot) its rows were read under; when every
-- change recorded here is visible in that of the latest snapshot, the data is what it read, and the
-- next snapshot copies its figures instead of reading every container again (lib/scan/snapshot.ts;
-- docs/decisions/0023). Rows visible in the latest snapshot's are pruned by the snapshot writers.
-- A column containerVerdictsQuery reads must be watched here (a later migration replaces a trigger).
CREATE TABLE "CoverageInputChange" (
    "xid" BIGINT NOT NULL,
    CONSTRAINT "CoverageInputChange_pkey" PRIMARY KEY ("xid")
);

ALTER TABLE "CoverageSnapshot" ADD COLUMN "inputs" TEXT;

CREATE FUNCTION signet_coverage_input_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "CoverageInputChange" ("xid") VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- rows inserted or deleted (statement level: one row per statement that touched any)
CREATE FUNCTION signet_coverage_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed) THEN
    INSERT INTO "CoverageInputChange" ("xid") VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Container_coverage_insert" AFTER INSERT ON "Container" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Container_coverage_delete" AFTER DELETE ON "Container" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Pod_coverage_insert" AFTER INSERT ON "Pod" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Pod_coverage_delete" AFTER DELETE ON "Pod" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Namespace_coverage_delete" AFTER DELETE ON "Namespace" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Cluster_coverage_delete" AFTER DELETE ON "Cluster" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Verdict_coverage_insert" AFTER INSERT ON "Verdict" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();
CREATE TRIGGER "Verdict_coverage_delete" AFTER DELETE ON "Verdict" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_rows_changed();

-- rows updated in a column the snapshot reads (a scan's bookkeeping — lastSeen, evaluatedAt — is not a change)
CREATE TRIGGER "Container_coverage_update" AFTER UPDATE ON "Container" FOR EACH ROW
  WHEN (OLD."podId" IS DISTINCT FROM NEW."podId" OR OLD.digest IS DISTINCT FROM NEW.digest)
  EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Pod_coverage_update" AFTER UPDATE ON "Pod" FOR EACH ROW
  WHEN (OLD."deletedAt" IS DISTINCT FROM NEW."deletedAt" OR OLD."namespaceId" IS DISTINCT FROM NEW."namespaceId" OR OLD."clusterId" IS DISTINCT FROM NEW."clusterId")
  EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Namespace_coverage_update" AFTER UPDATE ON "Namespace" FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Cluster_coverage_update" AFTER UPDATE ON "Cluster" FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD."lastError" IS DISTINCT FROM NEW."lastError" OR OLD."lastErrorAt" IS DISTINCT FROM NEW."lastErrorAt")
  EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Verdict_coverage_update" AFTER UPDATE ON "Verdict" FOR EACH ROW
  WHEN (OLD."containerId" IS DISTINCT FROM NEW."containerId" OR OLD.value IS DISTINCT FROM NEW.value OR OLD."lastKnownValue" IS DISTINCT FROM NEW."lastKnownValue"
        OR OLD.reasons IS DISTINCT FROM NEW.reasons OR OLD."changedAt" IS DISTINCT FROM NEW."changedAt")
  EXECUTE FUNCTION signet_coverage_input_changed();

-- TRUNCATE of any of them
CREATE TRIGGER "Container_coverage_truncate" AFTER TRUNCATE ON "Container" FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Pod_coverage_truncate" AFTER TRUNCATE ON "Pod" FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Namespace_coverage_truncate" AFTER TRUNCATE ON "Namespace" FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Cluster_coverage_truncate" AFTER TRUNCATE ON "Cluster" FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_input_changed();
CREATE TRIGGER "Verdict_coverage_truncate" AFTER TRUNCATE ON "Verdict" FOR EACH STATEMENT EXECUTE FUNCTION signet_coverage_input_changed();
