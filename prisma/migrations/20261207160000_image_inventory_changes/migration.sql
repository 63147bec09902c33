-- An image's evaluation digest (lib/scan/evaluate-image.ts) covers its live containers: each one's id
-- and image reference, its pod's name, its namespace's name and labels, its cluster's name, its
-- workload's kind and name, and the count of their verdicts. Reading them joins four tables for every
-- container; a rescan with nothing changed did that for every image (docs/decisions/0027).
-- Every transaction that changes one of those inputs for an image leaves (image, transaction id)
-- here, written by the triggers below in the same transaction, so it becomes visible exactly when
-- the change does. An evaluation records the part of the digest its containers make, with the
-- visibility snapshot (pg_snapshot) it read them under; while every change of the image recorded
-- here is visible in that snapshot, the next evaluation takes the recorded part instead of reading
-- the containers again. Evaluations prune the rows visible in the snapshot they record.
-- Not watched, because they never change: a cluster's, namespace's or workload's name and a
-- workload's kind (the keys their rows are upserted by), a container's id. A column the digest
-- reads must be watched here (a later migration replaces a trigger).
CREATE TABLE "ImageInventoryChange" (
    "imageId" UUID NOT NULL,
    "xid" BIGINT NOT NULL,
    CONSTRAINT "ImageInventoryChange_pkey" PRIMARY KEY ("imageId", "xid")
);

ALTER TABLE "Image"
  ADD COLUMN "containersDigest" TEXT,
  ADD COLUMN "containersInputs" TEXT,
  ADD COLUMN "evaluatedContainers" INTEGER,
  ADD COLUMN "evaluatedVerdicts" INTEGER;

-- containers inserted or deleted (statement level, transition table `changed`)
CREATE FUNCTION signet_image_containers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ImageInventoryChange" ("imageId", "xid")
  SELECT DISTINCT "imageId", pg_current_xact_id()::text::bigint FROM changed WHERE "imageId" IS NOT NULL
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- containers moved to another image or pod, or whose reference changed: both images
CREATE FUNCTION signet_image_containers_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ImageInventoryChange" ("imageId", "xid")
  SELECT DISTINCT x."imageId", pg_current_xact_id()::text::bigint
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  CROSS JOIN LATERAL (VALUES (o."imageId"), (n."imageId")) AS x("imageId")
  WHERE x."imageId" IS NOT NULL
    AND (o."imageId", o."imageRef", o."podId") IS DISTINCT FROM (n."imageId", n."imageRef", n."podId")
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- pods deleted or brought back, renamed, moved: the images of their containers
CREATE FUNCTION signet_image_pods_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ImageInventoryChange" ("imageId", "xid")
  SELECT DISTINCT c."imageId", pg_current_xact_id()::text::bigint
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  JOIN "Container" c ON c."podId" = n.id
  WHERE c."imageId" IS NOT NULL
    AND (o.name, o."deletedAt" IS NULL, o."namespaceId", o."workloadId", o."clusterId")
        IS DISTINCT FROM (n.name, n."deletedAt" IS NULL, n."namespaceId", n."workloadId", n."clusterId")
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- namespaces relabelled: the images of every container in them
CREATE FUNCTION signet_image_namespaces_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ImageInventoryChange" ("imageId", "xid")
  SELECT DISTINCT c."imageId", pg_current_xact_id()::text::bigint
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  JOIN "Pod" p ON p."namespaceId" = n.id
  JOIN "Container" c ON c."podId" = p.id
  WHERE c."imageId" IS NOT NULL AND (o.name, o.labels) IS DISTINCT FROM (n.name, n.labels)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- a truncated table: no recorded digest holds any more
CREATE FUNCTION signet_image_inventory_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "Image" SET "containersInputs" = NULL WHERE "containersInputs" IS NOT NULL;
  RETURN NULL;
END $$;

CREATE TRIGGER "Container_image_inventory_insert" AFTER INSERT ON "Container" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_image_containers_changed();
CREATE TRIGGER "Container_image_inventory_delete" AFTER DELETE ON "Container" REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION signet_image_containers_changed();
CREATE TRIGGER "Container_image_inventory_update" AFTER UPDATE ON "Container" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION signet_image_containers_updated();
CREATE TRIGGER "Pod_image_inventory_update" AFTER UPDATE ON "Pod" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION signet_image_pods_updated();
CREATE TRIGGER "Namespace_image_inventory_update" AFTER UPDATE ON "Namespace" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION signet_image_namespaces_updated();
CREATE TRIGGER "Container_image_inventory_truncate" AFTER TRUNCATE ON "Container" FOR EACH STATEMENT EXECUTE FUNCTION signet_image_inventory_truncated();
CREATE TRIGGER "Pod_image_inventory_truncate" AFTER TRUNCATE ON "Pod" FOR EACH STATEMENT EXECUTE FUNCTION signet_image_inventory_truncated();
CREATE TRIGGER "Namespace_image_inventory_truncate" AFTER TRUNCATE ON "Namespace" FOR EACH STATEMENT EXECUTE FUNCTION signet_image_inventory_truncated();
