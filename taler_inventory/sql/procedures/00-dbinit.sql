-- What reloading the procedures needs before any of them is replaced.

CREATE OR REPLACE FUNCTION drop_functions_without(in_names TEXT[], in_argument TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
  f RECORD;
BEGIN
  -- A form with other results but the same arguments, which CREATE OR REPLACE
  -- cannot change: it goes, and the file that called this creates the new one.
  FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc
            WHERE pronamespace = current_schema()::regnamespace
              AND proname = ANY(in_names)
              AND NOT in_argument = ANY(COALESCE(proargnames, '{}'))
  LOOP
    EXECUTE 'DROP FUNCTION ' || f.signature;
  END LOOP;
END $$;
COMMENT ON FUNCTION drop_functions_without(TEXT[], TEXT)
  IS 'Drop every function named in in_names that has no parameter in_argument (an older form), before a procedure file creates the new one.';
