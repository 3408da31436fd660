-- Recording webhook events, in the transaction of the change that causes them.
--
-- Each trigger first asks whether the instance has a webhook for the event type
-- (an index-only probe of webhooks_by_event); only then does it build the event's
-- template variables and write one outbox row per such webhook.  A cart lock, its
-- release, an order's hand-over and the reclaimer change only products.reserved
-- and holds: the product trigger is declared UPDATE OF the catalogue columns, so
-- PostgreSQL does not even call it for them (decided when the statement is
-- planned, not per row).

CREATE OR REPLACE FUNCTION webhook_wanted(in_instance INT8, in_event TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM webhooks
                  WHERE instance_serial = in_instance AND event_type = in_event)
$$;

CREATE OR REPLACE FUNCTION record_webhook_event(in_instance INT8, in_event TEXT,
                                                in_time INT8, in_context JSONB)
RETURNS VOID LANGUAGE sql AS $$
  INSERT INTO webhook_deliveries (webhook_serial, instance_serial, event_type, event_time,
                                  context, next_attempt)
  SELECT webhook_serial, in_instance, in_event, in_time,
         in_context || jsonb_build_object('webhook_type', in_event), 0
    FROM webhooks
   WHERE instance_serial = in_instance AND event_type = in_event
   ORDER BY webhook_serial
$$;
COMMENT ON FUNCTION record_webhook_event(INT8, TEXT, INT8, JSONB)
  IS 'One outbox row per webhook of the instance for the event type; due at once.';

-- Triggers carry no clock of the application: an event without a time of its
-- own (a product or category change) is stamped with the transaction's.
CREATE OR REPLACE FUNCTION webhook_clock() RETURNS INT8 LANGUAGE sql STABLE AS $$
  SELECT (extract(epoch FROM transaction_timestamp()) * 1000000)::INT8
$$;

-- The event of a row trigger: <subject>_added, _updated or _deleted by its operation.
CREATE OR REPLACE FUNCTION webhook_event(in_op TEXT, in_subject TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT in_subject || CASE in_op WHEN 'INSERT' THEN '_added' WHEN 'UPDATE' THEN '_updated'
                                  ELSE '_deleted' END
$$;

CREATE OR REPLACE FUNCTION webhook_quantity(in_q NUMERIC) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$ SELECT trim_scale(in_q)::TEXT $$;

CREATE OR REPLACE FUNCTION webhook_timestamp(in_us INT8) RETURNS JSONB
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN in_us IS NULL THEN NULL
              WHEN in_us = 9223372036854775807 THEN jsonb_build_object('t_s', 'never')
              ELSE jsonb_build_object('t_s', in_us / 1000000) END
$$;

CREATE OR REPLACE FUNCTION webhook_product_context(p products) RETURNS JSONB
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'product_serial', p.product_serial,
    'product_id', p.product_id,
    'product_name', p.product_name,
    'description', p.description,
    'description_i18n', p.description_i18n,
    'unit', p.unit,
    'unit_allow_fraction', p.unit_allow_fraction,
    'unit_precision_level', p.unit_precision_level,
    'image', p.image,
    'taxes', p.taxes,
    'price', p.unit_price->>0,
    'unit_price', p.unit_price,
    'total_stock', CASE WHEN p.total_stock IS NULL THEN -1 ELSE floor(p.total_stock) END,
    'unit_total_stock', CASE WHEN p.total_stock IS NULL THEN '-1'
                             ELSE webhook_quantity(p.total_stock) END,
    'total_sold', floor(p.total_sold),
    'unit_total_sold', webhook_quantity(p.total_sold),
    'total_lost', floor(p.total_lost),
    'unit_total_lost', webhook_quantity(p.total_lost),
    'address', p.address,
    'next_restock', webhook_timestamp(p.next_restock),
    'minimum_age', p.minimum_age)
$$;

CREATE OR REPLACE FUNCTION webhook_products() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  v_event TEXT;
  v_row products;
BEGIN
  v_event := webhook_event(TG_OP, 'inventory');
  v_row := CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  IF NOT webhook_wanted(v_row.instance_serial, v_event) THEN
    RETURN NULL;
  END IF;
  -- A patch that changes nothing (or only what locks change) is no event.
  IF TG_OP = 'UPDATE' AND webhook_product_context(OLD) = webhook_product_context(NEW)
     AND OLD.product_group_serial IS NOT DISTINCT FROM NEW.product_group_serial
     AND OLD.money_pot_serial IS NOT DISTINCT FROM NEW.money_pot_serial
     AND OLD.unit_minimum_quantity = NEW.unit_minimum_quantity
     AND OLD.price_is_net = NEW.price_is_net THEN
    RETURN NULL;
  END IF;
  PERFORM record_webhook_event(v_row.instance_serial, v_event, webhook_clock(),
                               webhook_product_context(v_row));
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS products_webhook_insert ON products;
DROP TRIGGER IF EXISTS products_webhook_update ON products;
DROP TRIGGER IF EXISTS products_webhook_delete ON products;
CREATE TRIGGER products_webhook_insert AFTER INSERT ON products
  FOR EACH ROW EXECUTE FUNCTION webhook_products();
-- Every column but reserved (which locks, hand-overs and the reclaimer write).
CREATE TRIGGER products_webhook_update AFTER UPDATE OF
    product_id, product_name, description, description_i18n, unit, unit_allow_fraction,
    unit_precision_level, unit_price, image, taxes, address, next_restock, minimum_age,
    unit_minimum_quantity, total_stock, total_sold, total_lost, product_group_serial,
    money_pot_serial, price_is_net
  ON products FOR EACH ROW EXECUTE FUNCTION webhook_products();
CREATE TRIGGER products_webhook_delete AFTER DELETE ON products
  FOR EACH ROW EXECUTE FUNCTION webhook_products();
COMMENT ON TRIGGER products_webhook_update ON products
  IS 'inventory_updated; not fired by statements that set only reserved (cart locks).';

CREATE OR REPLACE FUNCTION webhook_categories() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  v_event TEXT;
  v_row categories;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.name = NEW.name AND OLD.name_i18n = NEW.name_i18n THEN
    RETURN NULL;
  END IF;
  v_event := webhook_event(TG_OP, 'category');
  v_row := CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  IF webhook_wanted(v_row.instance_serial, v_event) THEN
    PERFORM record_webhook_event(v_row.instance_serial, v_event, webhook_clock(),
      jsonb_build_object('category_serial', v_row.category_serial,
                         'category_id', v_row.category_serial,
                         'category_name', v_row.name,
                         'category_name_i18n', v_row.name_i18n));
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS categories_webhook ON categories;
CREATE TRIGGER categories_webhook AFTER INSERT OR UPDATE OR DELETE ON categories
  FOR EACH ROW EXECUTE FUNCTION webhook_categories();

CREATE OR REPLACE FUNCTION webhook_orders() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF webhook_wanted(NEW.instance_serial, 'order_created') THEN
      PERFORM record_webhook_event(NEW.instance_serial, 'order_created', NEW.creation_time,
        jsonb_build_object('order_id', NEW.order_id, 'contract_terms', NEW.contract_terms,
                           'amount', NEW.amount, 'summary', NEW.summary,
                           'timestamp', webhook_timestamp(NEW.creation_time)));
    END IF;
  ELSIF NEW.paid AND NOT OLD.paid THEN
    IF webhook_wanted(NEW.instance_serial, 'pay') THEN
      PERFORM record_webhook_event(NEW.instance_serial, 'pay',
        COALESCE(NEW.paid_time, webhook_clock()),
        jsonb_build_object('order_id', NEW.order_id, 'contract_terms', NEW.contract_terms,
                           'amount', NEW.amount,
                           'timestamp', webhook_timestamp(NEW.paid_time)));
    END IF;
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS orders_webhook_insert ON orders;
DROP TRIGGER IF EXISTS orders_webhook_paid ON orders;
CREATE TRIGGER orders_webhook_insert AFTER INSERT ON orders
  FOR EACH ROW EXECUTE FUNCTION webhook_orders();
CREATE TRIGGER orders_webhook_paid AFTER UPDATE OF paid ON orders
  FOR EACH ROW EXECUTE FUNCTION webhook_orders();

CREATE OR REPLACE FUNCTION webhook_order_refunds() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  o orders;
BEGIN
  IF webhook_wanted(NEW.instance_serial, 'refund') THEN
    SELECT * INTO o FROM orders WHERE order_serial = NEW.order_serial;
    PERFORM record_webhook_event(NEW.instance_serial, 'refund', NEW.refund_time,
      jsonb_build_object(
        'order_id', o.order_id, 'contract_terms', o.contract_terms,
        'refund_amount', split_part(o.amount, ':', 1) || ':'
                         || trim_scale(NEW.increase)::TEXT,
        'reason', NEW.reason,
        -- As the merchant documentation says: nanoseconds since 1970.
        'timestamp', NEW.refund_time * 1000));
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS order_refunds_webhook ON order_refunds;
CREATE TRIGGER order_refunds_webhook AFTER INSERT ON order_refunds
  FOR EACH ROW EXECUTE FUNCTION webhook_order_refunds();
