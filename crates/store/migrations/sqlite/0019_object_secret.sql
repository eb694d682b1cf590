-- A business object's write-only credential, sealed (web services: a password, token or key).
ALTER TABLE business_objects ADD COLUMN secret TEXT;
