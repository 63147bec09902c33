-- A key written inline in policies is one Keys entry by its fingerprint ("sha256:<hex>"), however many
-- policies write it, no longer one per policy authority ("policy:<policy>/<authority>"). Its usage history
-- follows it: each such authority's snapshots move to the fingerprint of its (first) inline key, the
-- sha256 of the key's SPKI DER, which is the body of its PEM "PUBLIC KEY" block. Snapshots taken at one
-- moment for several authorities writing the same key become one, with the larger figures.
WITH inline AS (
  SELECT DISTINCT ON (p."name", a->>'name')
    'policy:' || p."name" || '/' || (a->>'name') AS old_key,
    'sha256:' || encode(sha256(decode(regexp_replace(k->>'pem', '-----[A-Z ]+-----|\s', '', 'g'), 'base64')), 'hex') AS new_key
  FROM "Policy" p
  JOIN "PolicyVersion" v ON v."policyId" = p."id" AND v."version" = p."currentVersion"
  CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v."spec"->'authorities') = 'array' THEN v."spec"->'authorities' ELSE '[]'::jsonb END) AS auth(a)
  CROSS JOIN LATERAL jsonb_array_elements(
    CASE
      WHEN jsonb_typeof(a->'key') = 'object' THEN jsonb_build_array(a->'key')
      WHEN jsonb_typeof(a->'keys') = 'array' THEN a->'keys'
      ELSE '[]'::jsonb
    END
  ) WITH ORDINALITY AS ks(k, i)
  WHERE k->>'pem' LIKE '-----BEGIN PUBLIC KEY-----%'
  ORDER BY p."name", a->>'name', i
)
UPDATE "AuthorityUsageSnapshot" s
SET "authorityKey" = inline.new_key
FROM inline
WHERE s."authorityKey" = inline.old_key;

WITH merged AS (
  DELETE FROM "AuthorityUsageSnapshot"
  WHERE "authorityKey" LIKE 'sha256:%'
    AND ("authorityKey", "takenAt") IN (
      SELECT "authorityKey", "takenAt" FROM "AuthorityUsageSnapshot"
      WHERE "authorityKey" LIKE 'sha256:%'
      GROUP BY "authorityKey", "takenAt"
      HAVING count(*) > 1
    )
  RETURNING *
)
INSERT INTO "AuthorityUsageSnapshot" ("id", "takenAt", "authorityKey", "containers", "images", "namespaces", "resignImages")
SELECT gen_random_uuid(), "takenAt", "authorityKey", max("containers"), max("images"), max("namespaces"), max("resignImages")
FROM merged
GROUP BY "authorityKey", "takenAt";
