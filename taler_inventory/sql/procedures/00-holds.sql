-- Shared primitives on holds (cart locks and unpaid order lines).
--
-- Lock order, for every caller (so no two transactions ever deadlock):
--  1. the instance's shared advisory lock (instance_lock_key), whenever cart-lock
--     rows may be inserted or deleted;
--  2. the hold rows the transaction changes (its own cart lock, a cart's locks, an
--     order's holds);
--  3. the instance row, only where active_locks changes or decides (capped
--     instances: lock_instance_counter);
--  4. the product rows (FOR NO KEY UPDATE or the UPDATE of reserved), several in
--     product_serial order.
-- A transaction that holds a product row never waits for a hold row: it deletes
-- other transactions' expired holds only with SKIP LOCKED (reclaim_product_holds).
-- A cart lock takes its product row last, with the one UPDATE of the counter
-- just before its commit: on a hot product that is all that is serialized.
--
-- Invariants: products.reserved equals the sum of holds.quantity of the product,
-- and instances.active_locks its number of cart-lock rows while
-- instances.max_active_locks is set.
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


CREATE OR REPLACE FUNCTION lock_instance_counter(in_instance_serial INT8)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM instances
    WHERE instance_serial = in_instance_serial AND max_active_locks IS NOT NULL
      FOR NO KEY UPDATE;
END $$;
COMMENT ON FUNCTION lock_instance_counter(INT8)
  IS 'Lock the row of a capped instance (step 3 of the lock order) before any product row, where active_locks may change later in the transaction.';


CREATE OR REPLACE FUNCTION reclaim_product_holds(
   in_product_serial INT8, in_instance_serial INT8, in_now INT8, in_limit INT4,
   in_except_uuids TEXT[],
   OUT out_holds INT8, OUT out_freed NUMERIC)
LANGUAGE plpgsql AS $$
DECLARE
  v_carts INT8;
BEGIN
  -- in_limit NULL: every expired hold.  Rows another transaction has locked are
  -- skipped (it is changing or deleting them), and so are the cart locks of
  -- in_except_uuids (the caller's own, just written).
  WITH gone AS (
    DELETE FROM holds
     WHERE hold_serial = ANY(ARRAY(
       SELECT hold_serial FROM holds
        WHERE product_serial = in_product_serial AND expiration <= in_now
          AND (lock_uuid IS NULL OR NOT (lock_uuid = ANY(in_except_uuids)))
        ORDER BY expiration
        LIMIT in_limit
          FOR UPDATE SKIP LOCKED))
    RETURNING quantity, lock_uuid)
  SELECT count(*), COALESCE(sum(quantity), 0), count(lock_uuid)
    INTO out_holds, out_freed, v_carts FROM gone;
  IF out_holds > 0 THEN
    PERFORM adjust_active_locks(in_instance_serial, -v_carts);
    UPDATE products SET reserved = reserved - out_freed
     WHERE product_serial = in_product_serial;
  END IF;
END $$;
COMMENT ON FUNCTION reclaim_product_holds(INT8, INT8, INT8, INT4, TEXT[])
  IS 'Delete expired holds of one product (at most in_limit, oldest first, none that another transaction holds locked); return how many and the quantity they freed.  Touches expired rows only.';


CREATE OR REPLACE FUNCTION reclaim_expired_holds(
   in_product_serial INT8, in_instance_serial INT8, in_now INT8, in_limit INT4)
RETURNS NUMERIC LANGUAGE sql AS $$
  SELECT out_freed
    FROM reclaim_product_holds(in_product_serial, in_instance_serial, in_now, in_limit, '{}')
$$;
COMMENT ON FUNCTION reclaim_expired_holds(INT8, INT8, INT8, INT4)
  IS 'reclaim_product_holds without exceptions; returns the quantity freed.';


CREATE OR REPLACE FUNCTION expired_quantity(
   in_product_serial INT8, in_now INT8, in_except_uuids TEXT[])
RETURNS NUMERIC LANGUAGE sql STABLE AS $$
  SELECT COALESCE(sum(quantity), 0) FROM holds
   WHERE product_serial = in_product_serial AND expiration <= in_now
     AND (lock_uuid IS NULL OR NOT (lock_uuid = ANY(in_except_uuids)))
$$;
COMMENT ON FUNCTION expired_quantity(INT8, INT8, TEXT[])
  IS 'What the expired holds still stored on a product count in reserved; after a full reclaim only those another transaction holds locked.';


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


-- The steps every procedure that changes holds shares, each written once, in the
-- words of the lock order above.

CREATE OR REPLACE FUNCTION exceeds_precision(
   in_quantity NUMERIC, in_allow_fraction BOOLEAN, in_precision_level INT4)
RETURNS BOOLEAN LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT scale(trim_scale(in_quantity))
         > CASE WHEN in_allow_fraction THEN in_precision_level ELSE 0 END
$$;
COMMENT ON FUNCTION exceeds_precision(NUMERIC, BOOLEAN, INT4)
  IS 'Whether a quantity has more fraction digits than a product allows (none without fractions); Python''s stock.exceeds_precision(q, stock.precision_of(...)), a test keeps the two in step.  Inlined where it is used.';


CREATE OR REPLACE FUNCTION lock_products_in_order(in_product_serials INT8[])
RETURNS INT8[] LANGUAGE plpgsql AS $$
DECLARE
  v_locked INT8[];
BEGIN
  -- Step 4 of the lock order: several product rows, in product_serial order, so
  -- that transactions locking overlapping sets never deadlock.
  SELECT COALESCE(array_agg(product_serial ORDER BY product_serial), '{}') INTO v_locked
    FROM (SELECT product_serial FROM products
           WHERE product_serial = ANY(in_product_serials)
           ORDER BY product_serial
             FOR NO KEY UPDATE) locked;
  RETURN v_locked;
END $$;
COMMENT ON FUNCTION lock_products_in_order(INT8[])
  IS 'Lock the product rows of in_product_serials FOR NO KEY UPDATE in product_serial order (step 4 of the lock order); return the serials locked (not those of products deleted meanwhile).';


CREATE OR REPLACE FUNCTION unreserve(in_product_serials INT8[], in_quantities NUMERIC[])
RETURNS VOID LANGUAGE sql AS $$
  -- The caller has deleted holds of (in_product_serials[i], in_quantities[i]) and
  -- holds the product rows: reserved goes down by what they held, per product.
  UPDATE products p SET reserved = p.reserved - g.quantity
    FROM (SELECT s AS product_serial, sum(q) AS quantity
            FROM unnest(in_product_serials, in_quantities) AS u(s, q) GROUP BY s) g
   WHERE p.product_serial = g.product_serial
$$;
COMMENT ON FUNCTION unreserve(INT8[], NUMERIC[])
  IS 'After deleting holds (their product serials and quantities, in two arrays): lower products.reserved by what they held, one UPDATE per product.';
