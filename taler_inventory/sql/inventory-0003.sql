-- inventory-0003: listing cart locks of an instance page by page.
CREATE INDEX holds_cart_by_serial ON holds (instance_serial, hold_serial) WHERE lock_uuid IS NOT NULL;
