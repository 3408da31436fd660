-- Maintenance (taler-inventory gc, the background reclaimer): reclaim expired
-- holds product by product, in short transactions.

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
  -- The order of 00-holds.sql: the shared advisory lock, the expired holds
  -- (skipping those a request is changing), the instance row, the product row
  -- (for the one UPDATE of its counter).
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(v_instance));
  SELECT r.out_holds, r.out_freed INTO out_holds, out_freed
    FROM reclaim_product_holds(in_product_serial, v_instance, in_now, in_limit, '{}') r;
END $$;
COMMENT ON FUNCTION gc_product_holds(INT8, INT8, INT4)
  IS 'One short transaction of taler-inventory gc or the background reclaimer: reclaim at most in_limit expired holds of one product; return how many and the quantity they freed.';
