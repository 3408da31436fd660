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

-- No foreign keys from a cart lock to its instance and product: each insert would
-- take a KEY SHARE lock on the hot product row (and on the instance row), which
-- with concurrent writers of that row costs a multixact per lock (measured: the
-- lock procedure ran 1.5-1.9 times as fast without them).  What the keys did:
-- a product's holds go with it (this trigger; also when an instance is purged,
-- as its products cascade), and a lock never stores a hold of a product that is
-- gone (lock_products finds no product row to update and undoes its writes).
ALTER TABLE holds DROP CONSTRAINT holds_product_serial_fkey;
ALTER TABLE holds DROP CONSTRAINT holds_instance_serial_fkey;

CREATE FUNCTION delete_product_holds() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM holds WHERE product_serial = OLD.product_serial;
  RETURN OLD;
END $$;
COMMENT ON FUNCTION delete_product_holds()
  IS 'A product''s holds go with it (instead of a foreign key that every lock would pay for).';
CREATE TRIGGER products_delete_holds AFTER DELETE ON products
  FOR EACH ROW EXECUTE FUNCTION delete_product_holds();
