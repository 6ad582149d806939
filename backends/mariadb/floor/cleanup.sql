-- The rows of one run: parameter a LIKE pattern ('<prefix>%').
DELETE FROM procreg_bench_floor WHERE id LIKE ?;
