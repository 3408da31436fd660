-- Versioning of the schema: every patch file registers itself here once.
CREATE SCHEMA IF NOT EXISTS inventory;

CREATE TABLE IF NOT EXISTS inventory.schema_patches
  (patch_name TEXT PRIMARY KEY
  ,applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
  );
COMMENT ON TABLE inventory.schema_patches
  IS 'Schema patches (inventory-NNNN.sql) applied to this database, each once.';
