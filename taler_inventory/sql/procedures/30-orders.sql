-- Orders: create_order (the hand-over of cart locks), pay_order, delete_order.
-- One round trip each; every rule of 00-holds.sql applies.  An order holds its
-- lines with one hold per (order, product) that expires at the pay deadline.

-- The forms before out_reclaimed: the same arguments, other results, which
-- CREATE OR REPLACE cannot change.
DO $$
DECLARE
  f RECORD;
BEGIN
  FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc
            WHERE pronamespace = current_schema()::regnamespace
              AND proname IN ('order_free_stock', 'create_order', 'pay_order')
              AND NOT 'out_reclaimed' = ANY(COALESCE(proargnames, '{}'))
  LOOP
    EXECUTE 'DROP FUNCTION ' || f.signature;
  END LOOP;
END $$;
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
  v_existing RECORD;
  v_serials INT8[];
  r RECORD;
  v_free NUMERIC;
  v_reclaimed INT8;
  v_order_serial INT8;
  v_carts INT8;
BEGIN
  -- Twin requests for the same order id wait for each other here, so the
  -- idempotency check below sees a twin that committed meanwhile.  (The two-key
  -- advisory locks never collide with the one-key instance locks.)
  PERFORM pg_advisory_xact_lock(hashtext(in_order_id), (in_instance_serial & 2147483647)::INT4);
  SELECT request_hash, claim_token INTO v_existing
    FROM orders
   WHERE instance_serial = in_instance_serial AND order_id = in_order_id;
  IF FOUND THEN
    -- The same request again is done already: ok, with the token it got.
    out_status := CASE WHEN v_existing.request_hash = in_request_hash
                       THEN 'ok' ELSE 'conflict' END;
    out_claim_token := v_existing.claim_token;
    RETURN;
  END IF;

  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  -- The lock order of 00-holds.sql: the carts' holds, the instance row (capped
  -- instances: the hand-over changes active_locks), then the products.
  PERFORM 1 FROM holds
    WHERE lock_uuid = ANY(in_lock_uuids) AND instance_serial = in_instance_serial
    ORDER BY hold_serial
    FOR UPDATE;
  PERFORM lock_instance_counter(in_instance_serial);
  -- Lock the order's products and every product the given carts hold, in one
  -- fixed order: overlapping checkouts and cart releases never deadlock.  A cart
  -- lock a concurrent request adds on another product after this point is not
  -- part of this hand-over (it happened after it).
  SELECT COALESCE(array_agg(product_serial ORDER BY product_serial), '{}') INTO v_serials
    FROM (SELECT product_serial FROM products
           WHERE product_serial IN (
                   SELECT product_serial FROM products
                    WHERE instance_serial = in_instance_serial
                      AND product_id = ANY(in_product_ids)
                   UNION
                   SELECT product_serial FROM holds
                    WHERE instance_serial = in_instance_serial
                      AND lock_uuid = ANY(in_lock_uuids))
           ORDER BY product_serial
             FOR NO KEY UPDATE) locked;

  -- Every line must name a locked product and respect its precision and minimum.
  SELECT l.ord, l.pid, l.qty,
         CASE WHEN p.product_serial IS NULL THEN 'unknown'
              WHEN scale(trim_scale(l.qty))
                   > (CASE WHEN p.unit_allow_fraction THEN p.unit_precision_level ELSE 0 END)
                THEN 'precision'
              ELSE 'below_minimum' END AS problem
    INTO r
    FROM unnest(in_product_ids, in_quantities) WITH ORDINALITY AS l(pid, qty, ord)
    LEFT JOIN products p
      ON p.instance_serial = in_instance_serial AND p.product_id = l.pid
     AND p.product_serial = ANY(v_serials)
   WHERE p.product_serial IS NULL
      OR scale(trim_scale(l.qty))
         > (CASE WHEN p.unit_allow_fraction THEN p.unit_precision_level ELSE 0 END)
      OR l.qty < p.unit_minimum_quantity
   ORDER BY l.ord
   LIMIT 1;
  IF FOUND THEN
    out_status := r.problem;
    out_line := r.ord;
    out_product_id := r.pid;
    out_requested := r.qty;
    RETURN;
  END IF;

  -- Every product must fit (all lines on it together), checked in line order.
  -- Nothing but expired holds has been touched so far.
  FOR r IN
    SELECT p.product_serial, p.product_id, p.total_stock, p.next_restock, a.qty, a.first_ord
      FROM (SELECT l.pid, sum(l.qty) AS qty, min(l.ord) AS first_ord
              FROM unnest(in_product_ids, in_quantities) WITH ORDINALITY AS l(pid, qty, ord)
             GROUP BY l.pid) a
      JOIN products p ON p.instance_serial = in_instance_serial AND p.product_id = a.pid
     ORDER BY a.first_ord
  LOOP
    CONTINUE WHEN r.total_stock IS NULL;  -- unlimited: always fits, holds nothing
    SELECT f.out_free, f.out_reclaimed INTO v_free, v_reclaimed
      FROM order_free_stock(r.product_serial, in_instance_serial, in_now,
                            in_reclaim_batch, in_lock_uuids) f;
    out_reclaimed := COALESCE(out_reclaimed, 0) + v_reclaimed;
    IF r.qty > v_free THEN
      -- Exactness: expired holds hold nothing, so reclaim all of them before saying no.
      SELECT f.out_free, f.out_reclaimed INTO v_free, v_reclaimed
        FROM order_free_stock(r.product_serial, in_instance_serial, in_now, NULL,
                              in_lock_uuids) f;
      out_reclaimed := out_reclaimed + v_reclaimed;
      PERFORM retry_if_expired_holds_are_busy(r.qty, v_free, r.product_serial, in_now);
      IF r.qty > v_free THEN
        out_status := 'insufficient';
        out_line := r.first_ord;
        out_product_id := r.product_id;
        out_requested := r.qty;
        out_available := GREATEST(v_free, 0);
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
    END IF;
  END LOOP;

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

  -- The hand-over: every cart lock of the given uuids goes, also on products
  -- the order does not take and for the part of a lock the order does not need.
  WITH gone AS (
    DELETE FROM holds
     WHERE instance_serial = in_instance_serial
       AND lock_uuid = ANY(in_lock_uuids)
       AND product_serial = ANY(v_serials)
    RETURNING product_serial, quantity),
  per_product AS (
    SELECT product_serial, sum(quantity) AS quantity, count(*) AS carts
      FROM gone GROUP BY product_serial),
  upd AS (
    UPDATE products p SET reserved = p.reserved - pp.quantity
      FROM per_product pp WHERE p.product_serial = pp.product_serial
    RETURNING pp.carts)
  SELECT COALESCE(sum(carts), 0) INTO v_carts FROM upd;

  -- The order holds its finite products until its pay deadline.
  WITH per_product AS (
    SELECT p.product_serial, sum(l.qty) AS quantity
      FROM unnest(in_product_ids, in_quantities) AS l(pid, qty)
      JOIN products p ON p.instance_serial = in_instance_serial AND p.product_id = l.pid
     WHERE p.total_stock IS NOT NULL
     GROUP BY p.product_serial),
  ins AS (
    INSERT INTO holds (instance_serial, product_serial, order_serial, quantity, expiration)
    SELECT in_instance_serial, product_serial, v_order_serial, quantity, in_pay_deadline
      FROM per_product)
  UPDATE products p SET reserved = p.reserved + pp.quantity
    FROM per_product pp WHERE p.product_serial = pp.product_serial;

  -- The instance row comes last, after every product row lock.
  PERFORM adjust_active_locks(in_instance_serial, -v_carts);
  -- Wakes the long polls of the instance's order list (delivered at commit).
  PERFORM notify_order(in_instance_serial, in_order_id);
  out_status := 'ok';
  out_claim_token := in_claim_token;
END $$;
COMMENT ON FUNCTION create_order(INT8, TEXT, BYTEA, INT8, INT8, TEXT, TEXT, JSONB, TEXT, TEXT[], NUMERIC[], TEXT[], INT4, TEXT)
  IS 'Create an order that holds its lines until in_pay_deadline and takes over (releases) every cart lock of in_lock_uuids, or change nothing.  Status: ok (also for the same request again), conflict, unknown (a product), precision, below_minimum, insufficient.';


CREATE OR REPLACE FUNCTION pay_order(
   in_instance_serial INT8, in_order_id TEXT, in_now INT8, in_reclaim_batch INT4,
   OUT out_status TEXT, OUT out_product_id TEXT, OUT out_requested NUMERIC,
   OUT out_available NUMERIC, OUT out_restock INT8, OUT out_reclaimed INT8)
LANGUAGE plpgsql AS $$
DECLARE
  v_order RECORD;
  r RECORD;
  v_free NUMERIC;
  v_reclaimed INT8;
BEGIN
  -- Reclaiming may delete cart-lock rows: the advisory lock comes first.
  PERFORM pg_advisory_xact_lock_shared(instance_lock_key(in_instance_serial));
  SELECT order_serial, paid INTO v_order
    FROM orders
   WHERE instance_serial = in_instance_serial AND order_id = in_order_id
     FOR UPDATE;
  IF NOT FOUND THEN
    out_status := 'unknown';
    RETURN;
  END IF;
  IF v_order.paid THEN
    out_status := 'paid';
    RETURN;
  END IF;
  -- The lock order of 00-holds.sql: the order's holds, the instance row
  -- (reclaiming may delete cart locks), then the products.
  PERFORM 1 FROM holds WHERE order_serial = v_order.order_serial
    ORDER BY hold_serial FOR UPDATE;
  PERFORM lock_instance_counter(in_instance_serial);
  PERFORM 1 FROM products
    WHERE product_serial IN (SELECT product_serial FROM order_lines
                              WHERE order_serial = v_order.order_serial)
    ORDER BY product_serial
    FOR NO KEY UPDATE;

  -- A product whose hold is no longer live (the pay deadline passed) gets only
  -- what is free now.  Its expired hold holds nothing: dropping it changes nothing.
  FOR r IN
    SELECT p.product_serial, p.product_id, p.total_stock, p.next_restock, a.qty,
           h.hold_serial, h.quantity AS held, h.expiration
      FROM (SELECT product_serial, sum(quantity) AS qty, min(line_no) AS first_line
              FROM order_lines
             WHERE order_serial = v_order.order_serial AND product_serial IS NOT NULL
             GROUP BY product_serial) a
      JOIN products p ON p.product_serial = a.product_serial
      LEFT JOIN holds h
        ON h.order_serial = v_order.order_serial AND h.product_serial = a.product_serial
     ORDER BY a.first_line
  LOOP
    CONTINUE WHEN r.total_stock IS NULL OR r.expiration > in_now;
    IF r.hold_serial IS NOT NULL THEN
      DELETE FROM holds WHERE hold_serial = r.hold_serial;
      UPDATE products SET reserved = reserved - r.held WHERE product_serial = r.product_serial;
    END IF;
    SELECT f.out_free, f.out_reclaimed INTO v_free, v_reclaimed
      FROM order_free_stock(r.product_serial, in_instance_serial, in_now,
                            in_reclaim_batch, '{}') f;
    out_reclaimed := COALESCE(out_reclaimed, 0) + v_reclaimed;
    IF r.qty > v_free THEN
      SELECT f.out_free, f.out_reclaimed INTO v_free, v_reclaimed
        FROM order_free_stock(r.product_serial, in_instance_serial, in_now, NULL, '{}') f;
      out_reclaimed := out_reclaimed + v_reclaimed;
      PERFORM retry_if_expired_holds_are_busy(r.qty, v_free, r.product_serial, in_now);
      IF r.qty > v_free THEN
        out_status := 'insufficient';
        out_product_id := r.product_id;
        out_requested := r.qty;
        out_available := GREATEST(v_free, 0);
        out_restock := r.next_restock;
        RETURN;
      END IF;
    END IF;
  END LOOP;

  -- Sell: what the order holds leaves reserved, every line enters total_sold.
  WITH gone AS (
    DELETE FROM holds WHERE order_serial = v_order.order_serial
    RETURNING product_serial, quantity),
  held AS (
    SELECT product_serial, sum(quantity) AS quantity FROM gone GROUP BY product_serial),
  sold AS (
    SELECT product_serial, sum(quantity) AS quantity
      FROM order_lines
     WHERE order_serial = v_order.order_serial AND product_serial IS NOT NULL
     GROUP BY product_serial)
  UPDATE products p
     SET total_sold = p.total_sold + sold.quantity,
         reserved = p.reserved - COALESCE(held.quantity, 0)
    FROM sold LEFT JOIN held USING (product_serial)
   WHERE p.product_serial = sold.product_serial;
  UPDATE orders SET paid = TRUE, paid_time = in_now
   WHERE order_serial = v_order.order_serial;
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
BEGIN
  SELECT order_serial, paid INTO v_order
    FROM orders
   WHERE instance_serial = in_instance_serial AND order_id = in_order_id
     FOR UPDATE;
  IF NOT FOUND THEN
    out_status := 'unknown';
    RETURN;
  END IF;
  IF v_order.paid THEN
    out_status := 'paid';
    RETURN;
  END IF;
  -- The lock order of 00-holds.sql: the order's holds, then its products.
  PERFORM 1 FROM holds WHERE order_serial = v_order.order_serial
    ORDER BY hold_serial FOR UPDATE;
  PERFORM 1 FROM products
    WHERE product_serial IN (SELECT product_serial FROM holds
                              WHERE order_serial = v_order.order_serial)
    ORDER BY product_serial
    FOR NO KEY UPDATE;
  WITH gone AS (
    DELETE FROM holds WHERE order_serial = v_order.order_serial
    RETURNING product_serial, quantity),
  per_product AS (
    SELECT product_serial, sum(quantity) AS quantity FROM gone GROUP BY product_serial)
  UPDATE products p SET reserved = p.reserved - pp.quantity
    FROM per_product pp WHERE p.product_serial = pp.product_serial;
  DELETE FROM orders WHERE order_serial = v_order.order_serial;
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
