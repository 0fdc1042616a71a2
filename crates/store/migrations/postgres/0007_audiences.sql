-- Tessera store, version 7 (PostgreSQL): resource indicators (RFC 8707). A client registers the
-- resources (absolute URIs, a JSON array) it may ask tokens for; a grant records the resources
-- named at authorization, which its later token requests may narrow but never widen.

SET LOCAL lock_timeout = '5s';

-- Constant defaults: no table rewrite, only a brief lock.
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
