-- inventory-0002: listing products and categories of an instance page by page.
CREATE INDEX products_by_instance ON products (instance_serial, product_serial);
COMMENT ON INDEX products_by_instance
  IS 'GET /private/products and the POS catalogue walk an instance''s products in serial order.';
