-- Orders: create_order (the hand-over of cart locks), pay_order, delete_order,
-- refund_order, claim_order.  One round trip each; every rule of 00-holds.sql
-- applies, through its shared steps (lock_products_in_order, unreserve,
-- exceeds_precision).  An order holds its lines with one hold per (order, product)
-- that expires at the pay deadline.  create_order reads as its numbered steps, each
-- a function of its own just above it.

-- The forms before out_reclaimed: the same arguments, other results, which
-- CREATE OR REPLACE cannot change.
SELECT drop_functions_without(ARRAY['order_free_stock', 'create_order', 'pay_order'], 'out_reclaimed');
-- create_order before in_session_id (the session was set by a second statement).
DROP FUNCTION IF EXISTS create_order(INT8, TEXT, BYTEA, INT8, INT8, TEXT, TEXT, JSONB, TEXT, TEXT[], NUMERIC[], TEXT[], INT4);

CREATE OR REPLACE FUNCTION order_free_stock(
   in_product_serial INT8, in_instance_serial INT8, in_now INT8, in_reclaim_batch INT4,
   in_lock_uuids TEXT[],
   OUT out_free NUMERIC, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  p RECORD;
  v_own NUMERIC;
BEGIN
  -- The caller holds the product row lock.  What an order may take now:
  -- stock - sold - lost - live holds, plus what the given carts hold live on it.
  SELECT r.out_holds INTO out_reclaimed
    FROM reclaim_product_holds(in_product_serial, in_instance_serial, in_now,
                               in_reclaim_batch, '{}') r;
  SELECT total_stock, total_sold, total_lost, reserved INTO p
    FROM products WHERE product_serial = in_product_serial;
  SELECT COALESCE(sum(quantity), 0) INTO v_own
    FROM holds
   WHERE product_serial = in_product_serial
     AND lock_uuid = ANY(in_lock_uuids)
     AND expiration > in_now;
  out_free := p.total_stock - p.total_sold - p.total_lost - p.reserved + v_own;
END $$;
COMMENT ON FUNCTION order_free_stock(INT8, INT8, INT8, INT4, TEXT[])
  IS 'Stock an order may take from a locked product: free stock plus the live cart locks of in_lock_uuids on it.  Reclaims at most in_reclaim_batch expired holds (NULL: all) first; out_reclaimed: how many.';


CREATE OR REPLACE FUNCTION retry_if_expired_holds_are_busy(
   in_requested NUMERIC, in_free NUMERIC, in_product_serial INT8, in_now INT8)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  -- After a full reclaim the only expired holds left are those another
  -- transaction is changing or deleting (SKIP LOCKED).  If the request fits once
  -- they are gone, decide again after that transaction rather than answer 410.
  IF in_requested > in_free
     AND in_requested <= in_free + expired_quantity(in_product_serial, in_now, '{}') THEN
    RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
      MESSAGE = 'expired holds of the product are being reclaimed';
  END IF;
END $$;
COMMENT ON FUNCTION retry_if_expired_holds_are_busy(NUMERIC, NUMERIC, INT8, INT8)
  IS 'Exact expiry for an order line that does not fit after a full reclaim: retry the transaction while expired holds are still locked by others.';


CREATE OR REPLACE FUNCTION fit_order_line(
   in_product_serial INT8, in_instance_serial INT8, in_now INT8, in_reclaim_batch INT4,
   in_lock_uuids TEXT[], in_requested NUMERIC,
   OUT out_free NUMERIC, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  v_reclaimed INT8;
BEGIN
  -- The caller holds the product row lock.  A few expired holds are reclaimed
  -- first; before a no, all of them (exactness: expired holds hold nothing).
  SELECT f.out_free, f.out_reclaimed INTO out_free, out_reclaimed
    FROM order_free_stock(in_product_serial, in_instance_serial, in_now,
                          in_reclaim_batch, in_lock_uuids) f;
  IF in_requested > out_free THEN
    SELECT f.out_free, f.out_reclaimed INTO out_free, v_reclaimed
      FROM order_free_stock(in_product_serial, in_instance_serial, in_now, NULL,
                            in_lock_uuids) f;
    out_reclaimed := out_reclaimed + v_reclaimed;
    PERFORM retry_if_expired_holds_are_busy(in_requested, out_free, in_product_serial,
                                            in_now);
  END IF;
END $$;
COMMENT ON FUNCTION fit_order_line(INT8, INT8, INT8, INT4, TEXT[], NUMERIC)
  IS 'What an order may take of a locked product for in_requested (order_free_stock, reclaiming all expired holds before a no); the line fits if in_requested <= out_free.';


CREATE OR REPLACE FUNCTION check_order_id(
   in_instance_serial INT8, in_order_id TEXT, in_request_hash BYTEA,
   OUT out_status TEXT, OUT out_claim_token TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_existing RECORD;
BEGIN
  -- Twin requests for the same order id wait for each other here, so the check
  -- below sees a twin that committed meanwhile.  (The two-key advisory locks never
  -- collide with the one-key instance locks.)
  PERFORM pg_advisory_xact_lock(hashtext(in_order_id), (in_instance_serial & 2147483647)::INT4);
  SELECT request_hash, claim_token INTO v_existing
    FROM orders
   WHERE instance_serial = in_instance_serial AND order_id = in_order_id;
  IF FOUND THEN
    -- The same request again is done already: ok, with the token it got.
    out_status := CASE WHEN v_existing.request_hash = in_request_hash
                       THEN 'ok' ELSE 'conflict' END;
    out_claim_token := v_existing.claim_token;
  END IF;
END $$;
COMMENT ON FUNCTION check_order_id(INT8, TEXT, BYTEA)
  IS 'Step 1 of create_order: NULL if the order id is free (and now reserved for this transaction), else ok (the same request made it) or conflict, with the stored claim token.';


CREATE OR REPLACE FUNCTION lock_order_stock(
   in_instance_serial INT8, in_product_ids TEXT[], in_lock_uuids TEXT[])
RETURNS INT8[] LANGUAGE plpgsql AS $$
BEGIN
  -- The lock order of 00-holds.sql: the instance's advisory lock, the carts'
  -- holds, the instance row (capped instances: the hand-over changes
  -- active_locks), then the order's products and every product the carts hold.
  -- A cart lock a concurrent request adds on another product after this point is
  -- not part of this hand-over (it happened after it).
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  PERFORM 1 FROM holds
    WHERE lock_uuid = ANY(in_lock_uuids) AND instance_serial = in_instance_serial
    ORDER BY hold_serial
    FOR UPDATE;
  PERFORM lock_instance_counter(in_instance_serial);
  RETURN lock_products_in_order(ARRAY(
    SELECT product_serial FROM products
     WHERE instance_serial = in_instance_serial AND product_id = ANY(in_product_ids)
    UNION
    SELECT product_serial FROM holds
     WHERE instance_serial = in_instance_serial AND lock_uuid = ANY(in_lock_uuids)));
END $$;
COMMENT ON FUNCTION lock_order_stock(INT8, TEXT[], TEXT[])
  IS 'Step 2 of create_order: lock what the order and the hand-over change, in the lock order; return the product serials locked.';


CREATE OR REPLACE FUNCTION find_order_line_problem(
   in_instance_serial INT8, in_product_ids TEXT[], in_quantities NUMERIC[],
   in_locked INT8[],
   OUT out_status TEXT, OUT out_line INT4, OUT out_product_id TEXT,
   OUT out_requested NUMERIC)
LANGUAGE plpgsql AS $$
BEGIN
  -- A product is known only if its row is locked (in_locked).
  SELECT CASE WHEN p.product_serial IS NULL THEN 'unknown'
              WHEN exceeds_precision(l.qty, p.unit_allow_fraction, p.unit_precision_level)
                THEN 'precision'
              ELSE 'below_minimum' END,
         l.ord, l.pid, l.qty
    INTO out_status, out_line, out_product_id, out_requested
    FROM unnest(in_product_ids, in_quantities) WITH ORDINALITY AS l(pid, qty, ord)
    LEFT JOIN products p
      ON p.instance_serial = in_instance_serial AND p.product_id = l.pid
     AND p.product_serial = ANY(in_locked)
   WHERE p.product_serial IS NULL
      OR exceeds_precision(l.qty, p.unit_allow_fraction, p.unit_precision_level)
      OR l.qty < p.unit_minimum_quantity
   ORDER BY l.ord
   LIMIT 1;
END $$;
COMMENT ON FUNCTION find_order_line_problem(INT8, TEXT[], NUMERIC[], INT8[])
  IS 'Step 3 of create_order: the first line (1-based) naming an unknown product, or finer than its precision, or below its minimum; NULL status if none.';


CREATE OR REPLACE FUNCTION find_order_shortage(
   in_instance_serial INT8, in_product_ids TEXT[], in_quantities NUMERIC[],
   in_lock_uuids TEXT[], in_now INT8, in_reclaim_batch INT4,
   OUT out_line INT4, OUT out_product_id TEXT, OUT out_requested NUMERIC,
   OUT out_available NUMERIC, OUT out_restock INT8, OUT out_next_expiration INT8,
   OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  r RECORD;
  f RECORD;
BEGIN
  -- Every product must fit (all lines on it together), checked in line order.
  out_reclaimed := 0;
  FOR r IN
    SELECT p.product_serial, p.product_id, p.total_stock, p.next_restock, a.qty, a.first_ord
      FROM (SELECT l.pid, sum(l.qty) AS qty, min(l.ord) AS first_ord
              FROM unnest(in_product_ids, in_quantities) WITH ORDINALITY AS l(pid, qty, ord)
             GROUP BY l.pid) a
      JOIN products p ON p.instance_serial = in_instance_serial AND p.product_id = a.pid
     ORDER BY a.first_ord
  LOOP
    CONTINUE WHEN r.total_stock IS NULL;  -- unlimited: always fits, holds nothing
    SELECT * INTO f FROM fit_order_line(r.product_serial, in_instance_serial, in_now,
                                        in_reclaim_batch, in_lock_uuids, r.qty);
    out_reclaimed := out_reclaimed + f.out_reclaimed;
    IF r.qty > f.out_free THEN
      out_line := r.first_ord;
      out_product_id := r.product_id;
      out_requested := r.qty;
      out_available := GREATEST(f.out_free, 0);
      out_restock := r.next_restock;
      SELECT expiration INTO out_next_expiration
        FROM holds
       WHERE product_serial = r.product_serial
         AND expiration > in_now
         AND lock_uuid IS NOT NULL
         AND lock_uuid <> ALL(in_lock_uuids)
       ORDER BY expiration
       LIMIT 1;
      RETURN;
    END IF;
  END LOOP;
END $$;
COMMENT ON FUNCTION find_order_shortage(INT8, TEXT[], NUMERIC[], TEXT[], INT8, INT4)
  IS 'Step 4 of create_order: the first product (by the line that first names it) that the order''s lines on it do not fit, with what it could take and when a lock of another cart expires; out_line NULL if all fit.  Touches expired holds only.';


CREATE OR REPLACE FUNCTION insert_order(
   in_instance_serial INT8, in_order_id TEXT, in_request_hash BYTEA, in_now INT8,
   in_pay_deadline INT8, in_summary TEXT, in_amount TEXT, in_contract_terms JSONB,
   in_claim_token TEXT, in_product_ids TEXT[], in_quantities NUMERIC[],
   in_session_id TEXT)
RETURNS INT8 LANGUAGE plpgsql AS $$
DECLARE
  v_order_serial INT8;
BEGIN
  INSERT INTO orders (instance_serial, order_id, creation_time, pay_deadline, summary,
                      amount, contract_terms, claim_token, request_hash, session_id)
  VALUES (in_instance_serial, in_order_id, in_now, in_pay_deadline, in_summary,
          in_amount, in_contract_terms, in_claim_token, in_request_hash, in_session_id)
  RETURNING order_serial INTO v_order_serial;
  INSERT INTO order_lines (order_serial, line_no, instance_serial, product_serial,
                           product_id, quantity)
  SELECT v_order_serial, l.ord, in_instance_serial, p.product_serial, l.pid, l.qty
    FROM unnest(in_product_ids, in_quantities) WITH ORDINALITY AS l(pid, qty, ord)
    JOIN products p ON p.instance_serial = in_instance_serial AND p.product_id = l.pid;
  RETURN v_order_serial;
END $$;
COMMENT ON FUNCTION insert_order(INT8, TEXT, BYTEA, INT8, INT8, TEXT, TEXT, JSONB, TEXT, TEXT[], NUMERIC[], TEXT)
  IS 'Step 5 of create_order: the order row and its lines; returns its order_serial.';


CREATE OR REPLACE FUNCTION hand_over_carts(
   in_instance_serial INT8, in_lock_uuids TEXT[], in_locked INT8[])
RETURNS INT8 LANGUAGE plpgsql AS $$
DECLARE
  v_serials INT8[];
  v_quantities NUMERIC[];
  v_carts INT8;
BEGIN
  -- Every cart lock of the given uuids goes, also on products the order does not
  -- take and for the part of a lock the order does not need.
  WITH gone AS (
    DELETE FROM holds
     WHERE instance_serial = in_instance_serial
       AND lock_uuid = ANY(in_lock_uuids)
       AND product_serial = ANY(in_locked)
    RETURNING product_serial, quantity)
  SELECT count(*), array_agg(product_serial), array_agg(quantity)
    INTO v_carts, v_serials, v_quantities FROM gone;
  PERFORM unreserve(v_serials, v_quantities);
  RETURN v_carts;
END $$;
COMMENT ON FUNCTION hand_over_carts(INT8, TEXT[], INT8[])
  IS 'Step 6 of create_order: release every cart lock of in_lock_uuids on the locked products; returns how many (for active_locks).';


CREATE OR REPLACE FUNCTION hold_order_lines(
   in_instance_serial INT8, in_order_serial INT8, in_product_ids TEXT[],
   in_quantities NUMERIC[], in_pay_deadline INT8)
RETURNS VOID LANGUAGE sql AS $$
  -- One hold per finite product (the sum of its lines), until the pay deadline.
  WITH per_product AS (
    SELECT p.product_serial, sum(l.qty) AS quantity
      FROM unnest(in_product_ids, in_quantities) AS l(pid, qty)
      JOIN products p ON p.instance_serial = in_instance_serial AND p.product_id = l.pid
     WHERE p.total_stock IS NOT NULL
     GROUP BY p.product_serial),
  ins AS (
    INSERT INTO holds (instance_serial, product_serial, order_serial, quantity, expiration)
    SELECT in_instance_serial, product_serial, in_order_serial, quantity, in_pay_deadline
      FROM per_product)
  UPDATE products p SET reserved = p.reserved + pp.quantity
    FROM per_product pp WHERE p.product_serial = pp.product_serial
$$;
COMMENT ON FUNCTION hold_order_lines(INT8, INT8, TEXT[], NUMERIC[], INT8)
  IS 'Step 7 of create_order: the order holds its finite products until in_pay_deadline (reserved goes up by as much).';


CREATE OR REPLACE FUNCTION create_order(
   in_instance_serial INT8, in_order_id TEXT, in_request_hash BYTEA, in_now INT8,
   in_pay_deadline INT8, in_summary TEXT, in_amount TEXT, in_contract_terms JSONB,
   in_claim_token TEXT, in_product_ids TEXT[], in_quantities NUMERIC[],
   in_lock_uuids TEXT[], in_reclaim_batch INT4, in_session_id TEXT,
   OUT out_status TEXT, OUT out_claim_token TEXT, OUT out_line INT4,
   OUT out_product_id TEXT, OUT out_requested NUMERIC, OUT out_available NUMERIC,
   OUT out_next_expiration INT8, OUT out_restock INT8, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  v_locked INT8[];
  v_order_serial INT8;
  v_carts INT8;
BEGIN
  -- 1. An order id is made once: the same request again is ok, another a conflict.
  SELECT * INTO out_status, out_claim_token
    FROM check_order_id(in_instance_serial, in_order_id, in_request_hash);
  IF out_status IS NOT NULL THEN
    RETURN;
  END IF;
  -- 2. Lock the carts' holds and every product involved, in the lock order.
  v_locked := lock_order_stock(in_instance_serial, in_product_ids, in_lock_uuids);
  -- 3. Every line names a known product, within its precision and minimum.
  SELECT * INTO out_status, out_line, out_product_id, out_requested
    FROM find_order_line_problem(in_instance_serial, in_product_ids, in_quantities,
                                 v_locked);
  IF out_status IS NOT NULL THEN
    RETURN;
  END IF;
  -- 4. Every product fits; so far only expired holds have been touched.
  SELECT * INTO out_line, out_product_id, out_requested, out_available, out_restock,
                out_next_expiration, out_reclaimed
    FROM find_order_shortage(in_instance_serial, in_product_ids, in_quantities,
                             in_lock_uuids, in_now, in_reclaim_batch);
  IF out_line IS NOT NULL THEN
    out_status := 'insufficient';
    RETURN;
  END IF;
  -- 5.-7. The order and its lines, the hand-over of the carts, the order's holds.
  v_order_serial := insert_order(in_instance_serial, in_order_id, in_request_hash, in_now,
                                 in_pay_deadline, in_summary, in_amount, in_contract_terms,
                                 in_claim_token, in_product_ids, in_quantities,
                                 in_session_id);
  v_carts := hand_over_carts(in_instance_serial, in_lock_uuids, v_locked);
  PERFORM hold_order_lines(in_instance_serial, v_order_serial, in_product_ids,
                           in_quantities, in_pay_deadline);
  -- The instance row comes last, after every product row lock.
  PERFORM adjust_active_locks(in_instance_serial, -v_carts);
  -- Wakes the long polls of the instance's order list (delivered at commit).
  PERFORM notify_order(in_instance_serial, in_order_id);
  out_status := 'ok';
  out_claim_token := in_claim_token;
END $$;
COMMENT ON FUNCTION create_order(INT8, TEXT, BYTEA, INT8, INT8, TEXT, TEXT, JSONB, TEXT, TEXT[], NUMERIC[], TEXT[], INT4, TEXT)
  IS 'Create an order that holds its lines until in_pay_deadline and takes over (releases) every cart lock of in_lock_uuids, or change nothing.  Status: ok (also for the same request again), conflict, unknown (a product), precision, below_minimum, insufficient.';


CREATE OR REPLACE FUNCTION lock_unpaid_order(
   in_instance_serial INT8, in_order_id TEXT,
   OUT out_status TEXT, OUT out_order_serial INT8)
LANGUAGE plpgsql AS $$
BEGIN
  -- The order row, then (step 2 of the lock order) its holds.
  SELECT o.order_serial, CASE WHEN o.paid THEN 'paid' END INTO out_order_serial, out_status
    FROM orders o
   WHERE o.instance_serial = in_instance_serial AND o.order_id = in_order_id
     FOR UPDATE;
  IF NOT FOUND THEN
    out_status := 'unknown';
  ELSIF out_status IS NULL THEN
    PERFORM 1 FROM holds h WHERE h.order_serial = out_order_serial
      ORDER BY h.hold_serial FOR UPDATE;
  END IF;
END $$;
COMMENT ON FUNCTION lock_unpaid_order(INT8, TEXT)
  IS 'Lock an order row and, if it is unpaid, its holds: out_status NULL (go on with out_order_serial), unknown or paid.';


CREATE OR REPLACE FUNCTION pay_order(
   in_instance_serial INT8, in_order_id TEXT, in_now INT8, in_reclaim_batch INT4,
   OUT out_status TEXT, OUT out_product_id TEXT, OUT out_requested NUMERIC,
   OUT out_available NUMERIC, OUT out_restock INT8, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  v_order RECORD;
  r RECORD;
  f RECORD;
BEGIN
  -- Reclaiming may delete cart-lock rows: the advisory lock comes first.
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  SELECT * INTO v_order FROM lock_unpaid_order(in_instance_serial, in_order_id);
  IF v_order.out_status IS NOT NULL THEN
    out_status := v_order.out_status;
    RETURN;
  END IF;
  -- The lock order of 00-holds.sql: the order's holds (locked above), the
  -- instance row (reclaiming may delete cart locks), then the products.
  PERFORM lock_instance_counter(in_instance_serial);
  PERFORM lock_products_in_order(ARRAY(SELECT product_serial FROM order_lines
                                        WHERE order_serial = v_order.out_order_serial));

  -- A product whose hold is no longer live (the pay deadline passed) gets only
  -- what is free now.  Its expired hold holds nothing: dropping it changes nothing.
  FOR r IN
    SELECT p.product_serial, p.product_id, p.total_stock, p.next_restock, a.qty,
           h.hold_serial, h.quantity AS held, h.expiration
      FROM (SELECT product_serial, sum(quantity) AS qty, min(line_no) AS first_line
              FROM order_lines
             WHERE order_serial = v_order.out_order_serial AND product_serial IS NOT NULL
             GROUP BY product_serial) a
      JOIN products p ON p.product_serial = a.product_serial
      LEFT JOIN holds h
        ON h.order_serial = v_order.out_order_serial AND h.product_serial = a.product_serial
     ORDER BY a.first_line
  LOOP
    CONTINUE WHEN r.total_stock IS NULL OR r.expiration > in_now;
    IF r.hold_serial IS NOT NULL THEN
      DELETE FROM holds WHERE hold_serial = r.hold_serial;
      UPDATE products SET reserved = reserved - r.held WHERE product_serial = r.product_serial;
    END IF;
    SELECT * INTO f FROM fit_order_line(r.product_serial, in_instance_serial, in_now,
                                        in_reclaim_batch, '{}', r.qty);
    out_reclaimed := COALESCE(out_reclaimed, 0) + f.out_reclaimed;
    IF r.qty > f.out_free THEN
      out_status := 'insufficient';
      out_product_id := r.product_id;
      out_requested := r.qty;
      out_available := GREATEST(f.out_free, 0);
      out_restock := r.next_restock;
      RETURN;
    END IF;
  END LOOP;

  -- Sell: what the order holds leaves reserved, every line enters total_sold.
  WITH gone AS (
    DELETE FROM holds WHERE order_serial = v_order.out_order_serial
    RETURNING product_serial, quantity),
  held AS (
    SELECT product_serial, sum(quantity) AS quantity FROM gone GROUP BY product_serial),
  sold AS (
    SELECT product_serial, sum(quantity) AS quantity
      FROM order_lines
     WHERE order_serial = v_order.out_order_serial AND product_serial IS NOT NULL
     GROUP BY product_serial)
  UPDATE products p
     SET total_sold = p.total_sold + sold.quantity,
         reserved = p.reserved - COALESCE(held.quantity, 0)
    FROM sold LEFT JOIN held USING (product_serial)
   WHERE p.product_serial = sold.product_serial;
  UPDATE orders SET paid = TRUE, paid_time = in_now
   WHERE order_serial = v_order.out_order_serial;
  PERFORM notify_order(in_instance_serial, in_order_id);
  out_status := 'ok';
END $$;
COMMENT ON FUNCTION pay_order(INT8, TEXT, INT8, INT4)
  IS 'Mark an order paid: its lines become total_sold once.  Past the pay deadline the stock is checked again.  Status: ok, paid (already), unknown, insufficient.';


CREATE OR REPLACE FUNCTION delete_order(
   in_instance_serial INT8, in_order_id TEXT, OUT out_status TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_order RECORD;
  v_serials INT8[];
  v_quantities NUMERIC[];
BEGIN
  SELECT * INTO v_order FROM lock_unpaid_order(in_instance_serial, in_order_id);
  IF v_order.out_status IS NOT NULL THEN
    out_status := v_order.out_status;
    RETURN;
  END IF;
  -- The lock order of 00-holds.sql: the order's holds (locked above), then its
  -- products.
  PERFORM lock_products_in_order(ARRAY(SELECT product_serial FROM holds
                                        WHERE order_serial = v_order.out_order_serial));
  WITH gone AS (
    DELETE FROM holds WHERE order_serial = v_order.out_order_serial
    RETURNING product_serial, quantity)
  SELECT array_agg(product_serial), array_agg(quantity) INTO v_serials, v_quantities
    FROM gone;
  PERFORM unreserve(v_serials, v_quantities);
  DELETE FROM orders WHERE order_serial = v_order.out_order_serial;
  out_status := 'ok';
END $$;
COMMENT ON FUNCTION delete_order(INT8, TEXT)
  IS 'Delete an unpaid order and free what it holds at once.  Status: ok, unknown, paid.';


CREATE OR REPLACE FUNCTION refund_order(
   in_instance_serial INT8, in_order_id TEXT, in_currency TEXT, in_total NUMERIC,
   in_reason TEXT, in_now INT8,
   OUT out_status TEXT, OUT out_contract_terms JSONB)
LANGUAGE plpgsql AS $$
DECLARE
  o RECORD;
BEGIN
  -- Taler's refund is the new total: it only grows, never beyond the amount, and
  -- asking for a total already reached changes nothing.  The stock stays sold.
  SELECT order_serial, paid, amount, amount_value, refunded_value, refund_deadline,
         contract_terms,
         (contract_terms #>> '{timestamp,t_s}')::NUMERIC * 1000000 AS created
    INTO o
    FROM orders
   WHERE instance_serial = in_instance_serial AND order_id = in_order_id
   FOR UPDATE;
  IF NOT FOUND THEN
    out_status := 'unknown';
    RETURN;
  END IF;
  out_contract_terms := o.contract_terms;
  IF NOT o.paid THEN
    out_status := 'unpaid';
  ELSIF split_part(o.amount, ':', 1) <> in_currency THEN
    out_status := 'currency';
  ELSIF o.refund_deadline IS NULL OR o.refund_deadline <= o.created THEN
    out_status := 'not_allowed';  -- a refund delay of zero
  ELSIF in_now >= o.refund_deadline THEN
    out_status := 'too_late';
  ELSIF in_total > o.amount_value THEN
    out_status := 'too_high';
  ELSE
    out_status := 'ok';
    IF in_total > o.refunded_value THEN
      INSERT INTO order_refunds (order_serial, instance_serial, refund_time, increase, reason)
      VALUES (o.order_serial, in_instance_serial, in_now, in_total - o.refunded_value,
              in_reason);
      UPDATE orders SET refunded_value = in_total WHERE order_serial = o.order_serial;
      PERFORM notify_order(in_instance_serial, in_order_id);
    END IF;
  END IF;
END $$;
COMMENT ON FUNCTION refund_order(INT8, TEXT, TEXT, NUMERIC, TEXT, INT8)
  IS 'Raise a paid order''s refunded total to in_total (Taler''s refund request); statuses ok, unknown, unpaid, currency, not_allowed, too_late, too_high.';


CREATE OR REPLACE FUNCTION notify_order(in_instance_serial INT8, in_order_id TEXT)
RETURNS VOID LANGUAGE sql AS $$
  SELECT pg_notify('inventory_order', in_instance_serial::TEXT || ' ' || in_order_id);
$$;
COMMENT ON FUNCTION notify_order(INT8, TEXT)
  IS 'Tell long-polling requests (LISTEN inventory_order) that an order was made or its status changed (claimed, paid, refunded); payload "<instance_serial> <order_id>", delivered at commit.';


CREATE OR REPLACE FUNCTION claim_order(
   in_instance_serial INT8, in_order_id TEXT, in_nonce TEXT, in_token TEXT, in_now INT8,
   OUT out_status TEXT, OUT out_contract_terms JSONB)
LANGUAGE plpgsql AS $$
DECLARE
  o RECORD;
BEGIN
  -- The first wallet's nonce goes into the contract terms, once: the same nonce
  -- again gets the same terms, another one is refused.
  SELECT order_serial, claim_token, claim_nonce, contract_terms INTO o
    FROM orders
   WHERE instance_serial = in_instance_serial AND order_id = in_order_id
   FOR UPDATE;
  IF NOT FOUND OR (o.claim_token IS NOT NULL AND o.claim_token IS DISTINCT FROM in_token) THEN
    out_status := 'unknown';
    RETURN;
  END IF;
  IF o.claim_nonce IS NOT NULL THEN
    out_status := CASE WHEN o.claim_nonce = in_nonce THEN 'ok' ELSE 'claimed' END;
    out_contract_terms := o.contract_terms;
    RETURN;
  END IF;
  UPDATE orders
     SET claim_nonce = in_nonce, claim_time = in_now,
         contract_terms = contract_terms || jsonb_build_object('nonce', in_nonce)
   WHERE order_serial = o.order_serial
  RETURNING contract_terms INTO out_contract_terms;
  PERFORM notify_order(in_instance_serial, in_order_id);
  out_status := 'ok';
END $$;
COMMENT ON FUNCTION claim_order(INT8, TEXT, TEXT, TEXT, INT8)
  IS 'A wallet claims an order: its nonce goes into the contract terms once; statuses ok, unknown (or wrong claim token), claimed (by another nonce).';
