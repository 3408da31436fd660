-- inventory-0004: listing orders of an instance filtered by payment status.
CREATE INDEX orders_by_instance_paid ON orders (instance_serial, paid, order_serial);
COMMENT ON INDEX orders_by_instance_paid
  IS 'GET /private/orders?paid=yes|no walks the paid (or unpaid) orders of an instance in serial order without skipping the others.';
