-- Cart locks: lock_product, release_cart.  One round trip each: the product row
-- stays locked only while the function runs and commits.

CREATE OR REPLACE FUNCTION lock_product(
   in_instance_serial INT8, in_product_id TEXT, in_lock_uuid TEXT,
   in_quantity NUMERIC, in_expiration INT8, in_now INT8, in_reclaim_batch INT4,
   OUT out_status TEXT, OUT out_available NUMERIC,
   OUT out_next_expiration INT8, OUT out_restock INT8)
LANGUAGE plpgsql AS $$
DECLARE
  p RECORD;
  v_own RECORD;
  v_own_found BOOLEAN;
  v_reserved NUMERIC;
  v_free NUMERIC;
  v_freed NUMERIC;
  v_cap INT8;
  v_count INT8;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  SELECT product_serial, total_stock, total_sold, total_lost, reserved,
         unit_allow_fraction, unit_precision_level, unit_minimum_quantity, next_restock
    INTO p
    FROM products
   WHERE instance_serial = in_instance_serial AND product_id = in_product_id
     FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    out_status := 'unknown_product';
    RETURN;
  END IF;
  IF scale(trim_scale(in_quantity))
       > (CASE WHEN p.unit_allow_fraction THEN p.unit_precision_level ELSE 0 END) THEN
    out_status := 'precision';
    RETURN;
  END IF;
  IF in_quantity > 0 AND in_quantity < p.unit_minimum_quantity THEN
    out_status := 'below_minimum';
    RETURN;
  END IF;
  out_restock := p.next_restock;

  -- Incremental reclaim: a few expired holds of this product per request.
  v_reserved := p.reserved
    - reclaim_expired_holds(p.product_serial, in_instance_serial, in_now, in_reclaim_batch);

  SELECT hold_serial, quantity, expiration INTO v_own
    FROM holds
   WHERE product_serial = p.product_serial AND lock_uuid = in_lock_uuid;
  v_own_found := FOUND;
  IF v_own_found AND (v_own.expiration <= in_now OR in_quantity = 0
                      OR p.total_stock IS NULL) THEN
    -- Expired (holds nothing), released, or on an unlimited product (reserves
    -- nothing): the row goes.
    DELETE FROM holds WHERE hold_serial = v_own.hold_serial;
    v_reserved := v_reserved - v_own.quantity;
    PERFORM adjust_active_locks(in_instance_serial, -1);
    v_own_found := FALSE;
  END IF;

  IF in_quantity = 0 OR p.total_stock IS NULL THEN
    UPDATE products SET reserved = v_reserved WHERE product_serial = p.product_serial
      AND reserved <> v_reserved;
    out_status := 'ok';
    RETURN;
  END IF;

  -- The lock's own current quantity counts as available to it: it is replaced.
  v_free := p.total_stock - p.total_sold - p.total_lost - v_reserved
            + CASE WHEN v_own_found THEN v_own.quantity ELSE 0 END;
  IF in_quantity > v_free THEN
    -- Exactness: expired holds hold nothing, so reclaim all of them before saying no.
    v_freed := reclaim_expired_holds(p.product_serial, in_instance_serial, in_now, NULL);
    v_free := v_free + v_freed;
    v_reserved := v_reserved - v_freed;
    IF in_quantity > v_free THEN
      UPDATE products SET reserved = v_reserved WHERE product_serial = p.product_serial
        AND reserved <> v_reserved;
      out_status := 'insufficient';
      out_available := GREATEST(v_free, 0);
      out_next_expiration := next_cart_lock_expiration(p.product_serial, in_now, in_lock_uuid);
      RETURN;
    END IF;
  END IF;

  IF v_own_found THEN
    UPDATE holds SET quantity = in_quantity, expiration = in_expiration
     WHERE hold_serial = v_own.hold_serial;
    v_reserved := v_reserved - v_own.quantity + in_quantity;
  ELSE
    -- The cap cannot change under our shared advisory lock.
    SELECT max_active_locks INTO v_cap
      FROM instances WHERE instance_serial = in_instance_serial;
    IF v_cap IS NOT NULL THEN
      -- Lock the instance row (after the product row, like every caller) before
      -- reading the count: two new locks on different products must not both
      -- see room for one.  Uncapped instances never lock or write this row.
      SELECT active_locks INTO v_count
        FROM instances WHERE instance_serial = in_instance_serial
         FOR NO KEY UPDATE;
      IF v_count + 1 > v_cap THEN
        -- The count includes expired rows not reclaimed yet: they do not count.
        SELECT v_count - count(*) INTO v_count
          FROM holds
         WHERE instance_serial = in_instance_serial
           AND lock_uuid IS NOT NULL AND expiration <= in_now;
        IF v_count + 1 > v_cap THEN
          UPDATE products SET reserved = v_reserved WHERE product_serial = p.product_serial
            AND reserved <> v_reserved;
          out_status := 'too_many_locks';
          RETURN;
        END IF;
      END IF;
      PERFORM adjust_active_locks(in_instance_serial, 1);
    END IF;
    INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity, expiration)
    VALUES (in_instance_serial, p.product_serial, in_lock_uuid, in_quantity, in_expiration);
    v_reserved := v_reserved + in_quantity;
  END IF;
  UPDATE products SET reserved = v_reserved WHERE product_serial = p.product_serial;
  out_status := 'ok';
END $$;
COMMENT ON FUNCTION lock_product(INT8, TEXT, TEXT, NUMERIC, INT8, INT8, INT4)
  IS 'Set the cart lock (product, lock_uuid) to exactly in_quantity until in_expiration (0 releases).  Status: ok, unknown_product, precision, below_minimum, insufficient, too_many_locks.';


CREATE OR REPLACE FUNCTION release_cart(
   in_instance_serial INT8, in_lock_uuid TEXT, in_now INT8,
   OUT out_live INT8, OUT out_removed INT8)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  -- Lock the products of the cart in a fixed order: no deadlock with hand-overs.
  PERFORM 1 FROM products
    WHERE product_serial IN (SELECT product_serial FROM holds
                              WHERE instance_serial = in_instance_serial
                                AND lock_uuid = in_lock_uuid)
    ORDER BY product_serial
    FOR NO KEY UPDATE;
  WITH gone AS (
    DELETE FROM holds
     WHERE instance_serial = in_instance_serial AND lock_uuid = in_lock_uuid
    RETURNING product_serial, quantity, expiration),
  per_product AS (
    SELECT product_serial, sum(quantity) AS quantity FROM gone GROUP BY product_serial),
  upd AS (
    UPDATE products p SET reserved = p.reserved - pp.quantity
      FROM per_product pp WHERE p.product_serial = pp.product_serial
    RETURNING 1)
  SELECT count(*) FILTER (WHERE expiration > in_now), count(*)
    INTO out_live, out_removed FROM gone;
  PERFORM adjust_active_locks(in_instance_serial, -out_removed);
END $$;
COMMENT ON FUNCTION release_cart(INT8, TEXT, INT8)
  IS 'Release every cart lock of lock_uuid; out_live counts those that still held stock.';


CREATE OR REPLACE FUNCTION authorized_lock_product(
   in_instance_id TEXT, in_token_hash BYTEA, in_scopes TEXT[],
   in_product_id TEXT, in_lock_uuid TEXT, in_quantity NUMERIC, in_duration INT8,
   in_now INT8, in_reclaim_batch INT4,
   OUT out_status TEXT, OUT out_available NUMERIC,
   OUT out_next_expiration INT8, OUT out_restock INT8)
LANGUAGE plpgsql AS $$
DECLARE
  a RECORD;
BEGIN
  SELECT * INTO a FROM authorize(in_instance_id, in_token_hash, in_scopes, in_now);
  IF a.out_status <> 'ok' THEN
    out_status := a.out_status;
    RETURN;
  END IF;
  -- The duration is cut to the instance's max_lock_duration; the sum saturates
  -- at "never" (INT8 max), like timeutil.add.
  SELECT l.out_status, l.out_available, l.out_next_expiration, l.out_restock
    INTO out_status, out_available, out_next_expiration, out_restock
    FROM lock_product(a.out_instance_serial, in_product_id, in_lock_uuid, in_quantity,
                      in_now + LEAST(in_duration, a.out_max_lock_duration,
                                     9223372036854775807 - in_now),
                      in_now, in_reclaim_batch) l;
END $$;
COMMENT ON FUNCTION authorized_lock_product(TEXT, BYTEA, TEXT[], TEXT, TEXT, NUMERIC, INT8, INT8, INT4)
  IS 'The lock endpoint in one round trip: authorize, then lock_product.  Adds the statuses of authorize.';
