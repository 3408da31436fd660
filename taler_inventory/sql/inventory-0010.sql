-- inventory-0010: two indexes fewer written by every cart lock.
--
-- One unique index (lock_uuid, product_serial) serves both the key of a lock
-- (a cart's own lock on a product, ON CONFLICT of a new one) and every lookup of
-- a cart by its uuid (release, hand-over to an order, the listing filter), so
-- holds_cart_by_uuid goes.  The count of an instance's expired cart locks (only
-- needed when a cap is reached) walks holds_by_expiration over the expired rows,
-- which the background reclaimer keeps few, so holds_cart_by_expiration goes too.
CREATE UNIQUE INDEX holds_cart_key_by_uuid ON holds (lock_uuid, product_serial);
DROP INDEX holds_cart_key;
ALTER INDEX holds_cart_key_by_uuid RENAME TO holds_cart_key;
COMMENT ON INDEX holds_cart_key
  IS 'One cart lock per (lock_uuid, product); the key of a lock and the way to a cart''s locks.';
DROP INDEX holds_cart_by_uuid;
DROP INDEX holds_cart_by_expiration;
