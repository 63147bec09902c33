-- The image list at 100,000 images (issue 15): filtered by verdict in its default order, sorted by
-- running containers, and searched by repository or tag (ILIKE '%…%') through trigram indexes (pg_trgm:
-- migration 20261206214500_server_key_audit_search). The verdict index becomes the prefix of the first.
DROP INDEX "Image_verdict_idx";
CREATE INDEX "Image_verdict_registry_repository_digest_id_idx" ON "Image"("verdict", "registry", "repository", "digest", "id");
CREATE INDEX "Image_runningContainers_digest_id_idx" ON "Image"("runningContainers" DESC, "digest", "id");
CREATE INDEX "Image_repository_trgm_idx" ON "Image" USING GIN ("repository" gin_trgm_ops);
CREATE INDEX "Container_imageRef_trgm_idx" ON "Container" USING GIN ("imageRef" gin_trgm_ops);
