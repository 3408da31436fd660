-- Cart locks: lock_products (the lock endpoint: a batch of lock requests on one
-- product, of one when nothing waits), release_cart.  One round trip each.
--
-- A lock writes its own hold first and takes the product row last, with one
-- conditional UPDATE of products.reserved right before the commit: on a hot
-- product only that UPDATE and the commit are serialized.  Expired holds are not
-- reclaimed while a lock succeeds; only when a request would not fit are they
-- all reclaimed before the answer (exact expiry: an expired hold never makes a
-- lock fail).  The background reclaimer and taler-inventory gc do the rest.

DROP FUNCTION IF EXISTS authorized_lock_product(TEXT, BYTEA, TEXT[], TEXT, TEXT, NUMERIC, INT8, INT8, INT4);
DROP FUNCTION IF EXISTS lock_product(INT8, TEXT, TEXT, NUMERIC, INT8, INT8, INT4);
-- lock_products and lock_product before out_reclaimed: the same arguments, other
-- results, which CREATE OR REPLACE cannot change.
SELECT drop_functions_without(ARRAY['lock_products', 'lock_product'], 'out_reclaimed');


CREATE OR REPLACE FUNCTION write_cart_lock(
   in_instance_serial INT8, in_product_serial INT8, in_lock_uuid TEXT,
   in_quantity NUMERIC, in_expiration INT8,
   OUT out_serial INT8, OUT out_old_quantity NUMERIC, OUT out_old_expiration INT8)
LANGUAGE plpgsql AS $$
BEGIN
  -- Set the cart lock (product, uuid) to in_quantity until in_expiration; 0
  -- deletes it.  out_old_*: what it was (NULL: there was none); out_serial NULL:
  -- nothing was written.
  FOR attempt IN 1..3 LOOP
    SELECT hold_serial, quantity, expiration
      INTO out_serial, out_old_quantity, out_old_expiration
      FROM holds
     WHERE lock_uuid = in_lock_uuid AND product_serial = in_product_serial
       FOR NO KEY UPDATE;
    IF FOUND THEN
      IF in_quantity = 0 THEN
        DELETE FROM holds WHERE hold_serial = out_serial;
      ELSE
        UPDATE holds SET quantity = in_quantity, expiration = in_expiration
         WHERE hold_serial = out_serial;
      END IF;
      RETURN;
    END IF;
    IF in_quantity = 0 THEN
      RETURN;
    END IF;
    INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity, expiration)
    VALUES (in_instance_serial, in_product_serial, in_lock_uuid, in_quantity, in_expiration)
    ON CONFLICT (lock_uuid, product_serial) DO NOTHING
    RETURNING hold_serial INTO out_serial;
    IF FOUND THEN
      RETURN;
    END IF;
    -- A twin request of the same cart inserted this lock meanwhile: update its row.
  END LOOP;
  RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
    MESSAGE = 'the cart lock changed under every attempt';
END $$;
COMMENT ON FUNCTION write_cart_lock(INT8, INT8, TEXT, NUMERIC, INT8)
  IS 'Step 2 of a lock: write the cart''s own hold (and lock its row); return what it was, for the counter delta and an undo.';


CREATE OR REPLACE FUNCTION undo_cart_lock(
   in_instance_serial INT8, in_product_serial INT8, in_lock_uuid TEXT,
   in_serial INT8, in_old_quantity NUMERIC, in_old_expiration INT8, in_quantity NUMERIC)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  -- Put back what write_cart_lock changed (its row is still locked by us).
  IF in_serial IS NULL THEN
    RETURN;
  ELSIF in_old_quantity IS NULL THEN
    DELETE FROM holds WHERE hold_serial = in_serial;
  ELSIF in_quantity = 0 THEN
    INSERT INTO holds (hold_serial, instance_serial, product_serial, lock_uuid, quantity,
                       expiration)
    VALUES (in_serial, in_instance_serial, in_product_serial, in_lock_uuid,
            in_old_quantity, in_old_expiration);
  ELSE
    UPDATE holds SET quantity = in_old_quantity, expiration = in_old_expiration
     WHERE hold_serial = in_serial;
  END IF;
END $$;
COMMENT ON FUNCTION undo_cart_lock(INT8, INT8, TEXT, INT8, NUMERIC, INT8, NUMERIC)
  IS 'Undo one write_cart_lock of this transaction: a refused lock changes nothing.';


CREATE OR REPLACE FUNCTION lock_products(
   in_instance_id TEXT, in_product_id TEXT, in_scopes TEXT[], in_now INT8,
   in_token_hashes BYTEA[], in_lock_uuids TEXT[], in_quantities NUMERIC[],
   in_durations INT8[],
   OUT out_statuses TEXT[], OUT out_available NUMERIC[], OUT out_next_expirations INT8[],
   OUT out_restock INT8, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  n CONSTANT INT4 := cardinality(in_lock_uuids);
  a RECORD;
  p RECORD;
  w RECORD;
  v_token BYTEA;
  v_instance INT8;
  v_max_duration INT8;
  v_todo INT4[] := '{}';     -- the requests that write their hold, in arrival order
  v_qty NUMERIC[];           -- what each of them sets its hold to (0: removes it)
  v_exp INT8[];
  v_serial INT8[];           -- what write_cart_lock returned, for the undo
  v_old_qty NUMERIC[];
  v_old_exp INT8[];
  v_delta NUMERIC;
  v_carts INT8;
  v_sum NUMERIC := 0;        -- running sum of the counter deltas
  v_peak NUMERIC;            -- its highest value at a request that must fit
  v_new INT8[];              -- cart-lock rows each adds (1) or removes (-1)
  v_changes BOOLEAN := FALSE;
  v_cart_sum INT8 := 0;
  v_count INT8;
  v_expired NUMERIC;
  v_expired_carts INT8;
  v_room NUMERIC;
  v_reserved NUMERIC;
  v_fits BOOLEAN;
  v_fast BOOLEAN := TRUE;
  v_inserted INT8;
  i INT4;
  k INT4;
BEGIN
  out_statuses := array_fill(NULL::TEXT, ARRAY[n]);
  out_available := array_fill(NULL::NUMERIC, ARRAY[n]);
  out_next_expirations := array_fill(NULL::INT8, ARRAY[n]);
  out_reclaimed := 0;

  -- Credentials: one lookup per token (a batch usually shares one).
  FOR i IN 1..n LOOP
    IF i = 1 OR in_token_hashes[i] IS DISTINCT FROM v_token THEN
      SELECT * INTO a FROM authorize(in_instance_id, in_token_hashes[i], in_scopes, in_now);
      v_token := in_token_hashes[i];
    END IF;
    IF a.out_status = 'ok' THEN
      v_instance := a.out_instance_serial;
      v_max_duration := a.out_max_lock_duration;
    ELSE
      out_statuses[i] := a.out_status;
    END IF;
  END LOOP;
  IF v_instance IS NULL THEN
    RETURN;
  END IF;

  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(v_instance));
  -- No row lock: a product's rules are read as of now, its counter is decided below.
  SELECT pr.product_serial, pr.total_stock IS NULL AS unlimited, pr.unit_allow_fraction,
         pr.unit_precision_level, pr.unit_minimum_quantity, pr.next_restock,
         ins.max_active_locks AS cap
    INTO p
    FROM products pr JOIN instances ins ON ins.instance_serial = pr.instance_serial
   WHERE pr.instance_serial = v_instance AND pr.product_id = in_product_id;
  IF NOT FOUND THEN
    FOR i IN 1..n LOOP
      out_statuses[i] := COALESCE(out_statuses[i], 'unknown');
    END LOOP;
    RETURN;
  END IF;
  out_restock := p.next_restock;

  -- Step 2 of the lock order: every request writes its own hold.
  FOR i IN 1..n LOOP
    CONTINUE WHEN out_statuses[i] IS NOT NULL;
    IF exceeds_precision(in_quantities[i], p.unit_allow_fraction,
                         p.unit_precision_level) THEN
      out_statuses[i] := 'precision';
      CONTINUE;
    END IF;
    IF in_quantities[i] > 0 AND in_quantities[i] < p.unit_minimum_quantity THEN
      out_statuses[i] := 'below_minimum';
      CONTINUE;
    END IF;
    -- The duration is cut to the instance's max_lock_duration; the sum saturates
    -- at "never" (INT8 max), like timeutil.add.  An unlimited product holds nothing.
    v_qty[i] := CASE WHEN p.unlimited THEN 0 ELSE in_quantities[i] END;
    v_exp[i] := in_now + LEAST(in_durations[i], v_max_duration, 9223372036854775807 - in_now);
    -- Most locks are new: one statement for them; write_cart_lock for the rest.
    v_inserted := NULL;
    IF v_qty[i] > 0 THEN
      INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity, expiration)
      VALUES (v_instance, p.product_serial, in_lock_uuids[i], v_qty[i], v_exp[i])
      ON CONFLICT (lock_uuid, product_serial) DO NOTHING
      RETURNING hold_serial INTO v_inserted;
    END IF;
    IF v_inserted IS NOT NULL THEN
      v_serial[i] := v_inserted;
    ELSE
      SELECT * INTO w FROM write_cart_lock(v_instance, p.product_serial, in_lock_uuids[i],
                                           v_qty[i], v_exp[i]);
      v_serial[i] := w.out_serial;
      v_old_qty[i] := w.out_old_quantity;
      v_old_exp[i] := w.out_old_expiration;
    END IF;
    v_todo := v_todo || i;
    v_sum := v_sum + v_qty[i] - COALESCE(v_old_qty[i], 0);
    IF v_qty[i] > 0 THEN
      v_peak := GREATEST(v_peak, v_sum);
    END IF;
    v_new[i] := CASE WHEN v_serial[i] IS NULL THEN 0
                     WHEN v_old_qty[i] IS NULL THEN 1
                     WHEN v_qty[i] = 0 THEN -1
                     ELSE 0 END;
    IF v_new[i] <> 0 THEN
      v_changes := TRUE;
    END IF;
  END LOOP;
  IF cardinality(v_todo) = 0 THEN
    RETURN;
  END IF;

  -- Step 3: on a capped instance every new lock must fit under the cap at its
  -- place in the batch (the count includes expired rows: the slow path knows).
  IF p.cap IS NOT NULL AND v_changes THEN
    SELECT active_locks INTO v_count FROM instances
     WHERE instance_serial = v_instance FOR NO KEY UPDATE;
    FOREACH i IN ARRAY v_todo LOOP
      v_cart_sum := v_cart_sum + v_new[i];
      IF v_new[i] = 1 AND v_count + v_cart_sum > p.cap THEN
        v_fast := FALSE;
      END IF;
    END LOOP;
  END IF;

  -- Step 4, the fast path: every request fits at its place in the batch, decided
  -- by one conditional UPDATE of the counter.
  IF v_fast THEN
    IF v_peak IS NULL THEN
      UPDATE products SET reserved = reserved + v_sum
       WHERE product_serial = p.product_serial AND v_sum <> 0;
    ELSE
      UPDATE products SET reserved = reserved + v_sum
       WHERE product_serial = p.product_serial
         AND reserved + v_peak <= total_stock - total_sold - total_lost;
      v_fast := FOUND;
    END IF;
  END IF;
  IF v_fast THEN
    IF p.cap IS NOT NULL AND v_cart_sum <> 0 THEN
      PERFORM adjust_active_locks(v_instance, v_cart_sum);
    END IF;
    FOREACH i IN ARRAY v_todo LOOP
      -- 'replaced': the cart's hold of the product existed and now holds v_qty.
      out_statuses[i] := CASE WHEN v_qty[i] > 0 AND v_old_qty[i] IS NOT NULL
                              THEN 'replaced' ELSE 'ok' END;
    END LOOP;
    RETURN;
  END IF;

  -- The slow path: a request does not fit, or a new lock meets the cap.  Undo
  -- every write, reclaim every expired hold, then decide the requests one after
  -- the other under the product row lock, exactly as if they had come alone.
  FOR k IN REVERSE cardinality(v_todo)..1 LOOP
    i := v_todo[k];
    PERFORM undo_cart_lock(v_instance, p.product_serial, in_lock_uuids[i], v_serial[i],
                           v_old_qty[i], v_old_exp[i], v_qty[i]);
  END LOOP;
  PERFORM lock_instance_counter(v_instance);
  SELECT total_stock - total_sold - total_lost INTO v_room
    FROM products WHERE product_serial = p.product_serial FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    -- The product was deleted meanwhile: none of its holds may stay behind.
    DELETE FROM holds WHERE product_serial = p.product_serial;
    FOREACH i IN ARRAY v_todo LOOP
      out_statuses[i] := 'unknown';
    END LOOP;
    RETURN;
  END IF;
  SELECT r.out_holds INTO out_reclaimed
    FROM reclaim_product_holds(p.product_serial, v_instance, in_now, NULL, '{}') r;
  SELECT reserved INTO v_reserved FROM products WHERE product_serial = p.product_serial;
  -- Expired holds left now are locked by transactions that change or delete them.
  v_expired := expired_quantity(p.product_serial, in_now, '{}');
  IF p.cap IS NOT NULL THEN
    SELECT active_locks INTO v_count FROM instances WHERE instance_serial = v_instance;
  END IF;
  v_cart_sum := 0;
  FOREACH i IN ARRAY v_todo LOOP
    SELECT * INTO w FROM write_cart_lock(v_instance, p.product_serial, in_lock_uuids[i],
                                         v_qty[i], v_exp[i]);
    v_delta := v_qty[i] - COALESCE(w.out_old_quantity, 0);
    v_carts := CASE WHEN w.out_serial IS NULL THEN 0
                    WHEN w.out_old_quantity IS NULL THEN 1
                    WHEN v_qty[i] = 0 THEN -1
                    ELSE 0 END;
    v_fits := v_qty[i] = 0 OR v_reserved + v_delta <= v_room;
    IF NOT v_fits AND v_reserved - v_expired + v_delta <= v_room THEN
      -- It fits once the expired holds others are busy with are gone: decide
      -- again after they committed rather than answer a wrong 410.
      RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
        MESSAGE = 'expired holds of the product are being reclaimed';
    END IF;
    IF v_fits AND v_carts = 1 AND p.cap IS NOT NULL AND v_count + 1 > p.cap THEN
      -- Expired cart locks not reclaimed yet do not count toward the cap.
      SELECT count(*) INTO v_expired_carts
        FROM holds
       WHERE instance_serial = v_instance AND lock_uuid IS NOT NULL
         AND expiration <= in_now AND lock_uuid <> in_lock_uuids[i];
      IF v_count - v_expired_carts + 1 > p.cap THEN
        out_statuses[i] := 'too_many_locks';
        PERFORM undo_cart_lock(v_instance, p.product_serial, in_lock_uuids[i], w.out_serial,
                               w.out_old_quantity, w.out_old_expiration, v_qty[i]);
        CONTINUE;
      END IF;
    END IF;
    IF v_fits THEN
      out_statuses[i] := CASE WHEN v_qty[i] > 0 AND w.out_old_quantity IS NOT NULL
                              THEN 'replaced' ELSE 'ok' END;
      v_reserved := v_reserved + v_delta;
      v_count := v_count + v_carts;
      v_cart_sum := v_cart_sum + v_carts;
      CONTINUE;
    END IF;
    -- Stock is decided before the cap: out of stock and over the cap is a 410.
    out_statuses[i] := 'insufficient';
    out_available[i] := GREATEST(v_room - v_reserved + v_expired
                                 + COALESCE(w.out_old_quantity, 0), 0);
    out_next_expirations[i] := next_cart_lock_expiration(p.product_serial, in_now,
                                                         in_lock_uuids[i]);
    PERFORM undo_cart_lock(v_instance, p.product_serial, in_lock_uuids[i], w.out_serial,
                           w.out_old_quantity, w.out_old_expiration, v_qty[i]);
  END LOOP;
  UPDATE products SET reserved = v_reserved
   WHERE product_serial = p.product_serial AND reserved <> v_reserved;
  IF p.cap IS NOT NULL THEN
    PERFORM adjust_active_locks(v_instance, v_cart_sum);
  END IF;
END $$;
COMMENT ON FUNCTION lock_products(TEXT, TEXT, TEXT[], INT8, BYTEA[], TEXT[], NUMERIC[], INT8[])
  IS 'The lock endpoint in one round trip: authorize, then set the cart lock (product, lock_uuid[i]) of each request to quantity[i] for duration[i] (0 releases), in order, one transaction.  The lock_uuids of one call are distinct.  Status per request: ok (a new lock, or a release), replaced (the cart''s existing lock of the product set anew), unknown (product), precision, below_minimum, insufficient, too_many_locks, or one of authorize.  out_reclaimed: expired holds of the product reclaimed on the way (only when a request did not fit at once).';


CREATE OR REPLACE FUNCTION release_cart(
   in_instance_serial INT8, in_lock_uuid TEXT, in_now INT8,
   OUT out_live INT8, OUT out_removed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  v_serials INT8[];
  v_quantities NUMERIC[];
BEGIN
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  -- The lock order: the cart's holds (in serial order, like a hand-over), the
  -- instance row, then its products in serial order.
  PERFORM 1 FROM holds
    WHERE lock_uuid = in_lock_uuid AND instance_serial = in_instance_serial
    ORDER BY hold_serial
    FOR UPDATE;
  WITH gone AS (
    DELETE FROM holds
     WHERE lock_uuid = in_lock_uuid AND instance_serial = in_instance_serial
    RETURNING product_serial, quantity, expiration)
  SELECT count(*) FILTER (WHERE expiration > in_now), count(*),
         array_agg(product_serial), array_agg(quantity)
    INTO out_live, out_removed, v_serials, v_quantities FROM gone;
  IF out_removed = 0 THEN
    RETURN;
  END IF;
  PERFORM adjust_active_locks(in_instance_serial, -out_removed);
  PERFORM lock_products_in_order(v_serials);
  PERFORM unreserve(v_serials, v_quantities);
END $$;
COMMENT ON FUNCTION release_cart(INT8, TEXT, INT8)
  IS 'Release every cart lock of lock_uuid; out_live counts those that still held stock.';


CREATE OR REPLACE FUNCTION lock_product(
   in_instance_id TEXT, in_product_id TEXT, in_scopes TEXT, in_now INT8,
   in_token_hash BYTEA, in_lock_uuid TEXT, in_quantity NUMERIC, in_duration INT8,
   OUT out_status TEXT, OUT out_available NUMERIC, OUT out_next_expiration INT8,
   OUT out_restock INT8, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  a RECORD;
  p RECORD;
  l RECORD;
  v_serial INT8;
BEGIN
  -- The most common request on its shortest way: a new lock of a cart on a finite
  -- product of an uncapped instance, that fits.  The same steps as lock_products,
  -- with no arrays and no bookkeeping for a batch; anything else takes that way.
  SELECT * INTO a FROM authorize(in_instance_id, in_token_hash,
                                 string_to_array(in_scopes, ' '), in_now);
  IF a.out_status = 'ok' AND in_quantity > 0 THEN
    PERFORM pg_advisory_xact_lock_shared(instance_lock_key(a.out_instance_serial));
    SELECT pr.product_serial, pr.next_restock
      INTO p
      FROM products pr JOIN instances ins ON ins.instance_serial = pr.instance_serial
     WHERE pr.instance_serial = a.out_instance_serial AND pr.product_id = in_product_id
       AND pr.total_stock IS NOT NULL AND ins.max_active_locks IS NULL
       AND in_quantity >= pr.unit_minimum_quantity
       AND NOT exceeds_precision(in_quantity, pr.unit_allow_fraction,
                                 pr.unit_precision_level);
    IF FOUND THEN
      INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity, expiration)
      VALUES (a.out_instance_serial, p.product_serial, in_lock_uuid, in_quantity,
              in_now + LEAST(in_duration, a.out_max_lock_duration,
                             9223372036854775807 - in_now))
      ON CONFLICT (lock_uuid, product_serial) DO NOTHING
      RETURNING hold_serial INTO v_serial;
      IF v_serial IS NOT NULL THEN
        UPDATE products SET reserved = reserved + in_quantity
         WHERE product_serial = p.product_serial
           AND reserved + in_quantity <= total_stock - total_sold - total_lost;
        IF FOUND THEN
          out_status := 'ok';
          out_restock := p.next_restock;
          out_reclaimed := 0;
          RETURN;
        END IF;
        DELETE FROM holds WHERE hold_serial = v_serial;  -- decided again below
      END IF;
    END IF;
  END IF;
  SELECT * INTO l
    FROM lock_products(in_instance_id, in_product_id, string_to_array(in_scopes, ' '),
                       in_now, ARRAY[in_token_hash], ARRAY[in_lock_uuid],
                       ARRAY[in_quantity], ARRAY[in_duration]);
  out_status := l.out_statuses[1];
  out_available := l.out_available[1];
  out_next_expiration := l.out_next_expirations[1];
  out_restock := l.out_restock;
  out_reclaimed := l.out_reclaimed;
END $$;
COMMENT ON FUNCTION lock_product(TEXT, TEXT, TEXT, INT8, BYTEA, TEXT, NUMERIC, INT8)
  IS 'lock_products for one request, with plain parameters (scopes separated by spaces); a new lock that fits takes a short way.';
