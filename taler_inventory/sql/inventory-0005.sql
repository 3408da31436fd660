-- inventory-0005: the lookup of a cart's own lock must not depend on statistics.
--
-- The partial unique index (product_serial, lock_uuid) WHERE lock_uuid IS NOT NULL
-- is only usable when the planner proves the predicate; with stale statistics a
-- session could prefer holds_by_product_expiration and walk every hold of the
-- product.  A plain unique index serves the same lookup unconditionally; order
-- holds (lock_uuid NULL) never collide in it, as NULLs are distinct.
CREATE UNIQUE INDEX holds_cart_key_all ON holds (product_serial, lock_uuid);
DROP INDEX holds_cart_key;
ALTER INDEX holds_cart_key_all RENAME TO holds_cart_key;
COMMENT ON INDEX holds_cart_key IS 'One cart lock per (product, lock_uuid); the key of a lock.';
