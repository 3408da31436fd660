-- inventory-0017: running totals of the maintenance commands, for GET /metrics.
--
-- taler-inventory gc runs in a process of its own, outside any server, so what it
-- reclaims cannot go into a server's in-process counters; it adds it here, once
-- per run, and every scrape reads it.  Never written on the request path.
CREATE TABLE maintenance_totals (
  name TEXT PRIMARY KEY,
  value INT8 NOT NULL CHECK (value >= 0));
COMMENT ON TABLE maintenance_totals
  IS 'Totals that only grow, by name: gc_reclaimed_holds (expired holds taler-inventory gc took back).';
