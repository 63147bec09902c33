-- Signet's webhook decisions say whether their caller authenticated (docs/decisions/0018).
-- Rows written before this column existed came from a webhook that authenticated no caller.
ALTER TABLE "AdmissionRejection" ADD COLUMN "callerAuthenticated" BOOLEAN;
UPDATE "AdmissionRejection" SET "callerAuthenticated" = false WHERE "controller" = 'signet';
