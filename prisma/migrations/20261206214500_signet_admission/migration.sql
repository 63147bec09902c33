-- Signet's own validating admission webhook (lib/admission): its denials, warnings and timeouts are kept
-- with the rejections of the cluster's other admission controllers.
ALTER TYPE "AdmissionController" ADD VALUE IF NOT EXISTS 'signet';
-- denied / warned / timed-out (Signet's own decisions; null for rejections read from Events)
ALTER TABLE "AdmissionRejection" ADD COLUMN "decision" TEXT;
