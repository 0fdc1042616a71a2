-- Tessera store, version 6: resource indicators (RFC 8707). A client registers the resources
-- (absolute URIs, a JSON array) it may ask tokens for; a grant records the resources named at
-- authorization, which its later token requests may narrow but never widen.

ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
