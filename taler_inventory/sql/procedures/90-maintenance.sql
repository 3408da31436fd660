-- Maintenance (taler-inventory gc): reclaim expired holds product by product.

CREATE OR REPLACE FUNCTION gc_product_holds(
   in_product_serial INT8, in_now INT8, in_limit INT4,
   OUT out_holds INT8, OUT out_freed NUMERIC)
LANGUAGE plpgsql AS $$
DECLARE
  v_instance INT8;
BEGIN
  out_holds := 0;
  out_freed := 0;
  -- A product never changes instance: reading it before the locks is safe.
  SELECT instance_serial INTO v_instance FROM products WHERE product_serial = in_product_serial;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  -- The order of 00-holds.sql: the shared advisory lock, then the product row.
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(v_instance));
  PERFORM 1 FROM products WHERE product_serial = in_product_serial FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT count(*) INTO out_holds
    FROM (SELECT 1 FROM holds
           WHERE product_serial = in_product_serial AND expiration <= in_now
           LIMIT in_limit) expired;
  IF out_holds > 0 THEN
    out_freed := reclaim_expired_holds(in_product_serial, v_instance, in_now, in_limit);
  END IF;
END $$;
COMMENT ON FUNCTION gc_product_holds(INT8, INT8, INT4)
  IS 'One short transaction of taler-inventory gc: reclaim at most in_limit expired holds of one product; return how many and the quantity they freed.';
