-- Shared primitives on holds (cart locks and unpaid order lines).
--
-- Rules for every caller:
--  * take the instance's shared advisory lock (instance_lock_key) before any row
--    lock, whenever cart-lock rows may be inserted or deleted;
--  * lock the row of every product whose holds are touched (FOR NO KEY UPDATE),
--    several products in product_serial order, so transactions never deadlock;
--  * touch the instance row (active_locks) only after every product row lock,
--    and lock it before reading active_locks to decide on the cap;
--  * keep products.reserved equal to the sum of holds.quantity of the product,
--    and instances.active_locks equal to its number of cart-lock rows while
--    instances.max_active_locks is set.
-- "now" is always a parameter: these functions never read the clock.

CREATE OR REPLACE FUNCTION instance_lock_key(in_instance_serial INT8)
RETURNS INT8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT x'6c6f636b00000000'::int8 | (in_instance_serial & 4294967295)
$$;
COMMENT ON FUNCTION instance_lock_key(INT8)
  IS 'Advisory-lock key guarding instances.active_locks: lock operations take it shared, setting a cap takes it exclusive.';


CREATE OR REPLACE FUNCTION adjust_active_locks(in_instance_serial INT8, in_delta INT8)
RETURNS VOID LANGUAGE sql AS $$
  UPDATE instances SET active_locks = active_locks + in_delta
   WHERE instance_serial = in_instance_serial
     AND max_active_locks IS NOT NULL
     AND in_delta <> 0
$$;
COMMENT ON FUNCTION adjust_active_locks(INT8, INT8)
  IS 'Count cart-lock rows added (+) or removed (-); only instances with a cap keep the count, so the others never write their instance row.';


CREATE OR REPLACE FUNCTION reclaim_expired_holds(
   in_product_serial INT8, in_instance_serial INT8, in_now INT8, in_limit INT4)
RETURNS NUMERIC LANGUAGE plpgsql AS $$
DECLARE
  v_freed NUMERIC;
  v_carts INT8;
BEGIN
  -- The caller holds the product row lock.  in_limit NULL: every expired hold.
  WITH gone AS (
    DELETE FROM holds
     WHERE hold_serial IN (
       SELECT hold_serial FROM holds
        WHERE product_serial = in_product_serial AND expiration <= in_now
        ORDER BY expiration
        LIMIT in_limit)
    RETURNING quantity, lock_uuid)
  SELECT COALESCE(sum(quantity), 0), count(lock_uuid) INTO v_freed, v_carts FROM gone;
  IF v_freed > 0 THEN
    UPDATE products SET reserved = reserved - v_freed WHERE product_serial = in_product_serial;
    PERFORM adjust_active_locks(in_instance_serial, -v_carts);
  END IF;
  RETURN v_freed;
END $$;
COMMENT ON FUNCTION reclaim_expired_holds(INT8, INT8, INT8, INT4)
  IS 'Delete expired holds of one product (at most in_limit, oldest first) and return the quantity they freed.  Index-backed: touches expired rows only.';


CREATE OR REPLACE FUNCTION next_cart_lock_expiration(
   in_product_serial INT8, in_now INT8, in_except_uuid TEXT)
RETURNS INT8 LANGUAGE sql STABLE AS $$
  SELECT expiration FROM holds
   WHERE product_serial = in_product_serial
     AND expiration > in_now
     AND lock_uuid IS NOT NULL
     AND lock_uuid IS DISTINCT FROM in_except_uuid
   ORDER BY expiration
   LIMIT 1
$$;
COMMENT ON FUNCTION next_cart_lock_expiration(INT8, INT8, TEXT)
  IS 'Earliest expiry among the live cart locks of a product (other than the asking cart): when stock may free up.';
