-- One row of the floor by primary key: parameter id.
SELECT n, body FROM procreg_bench_floor WHERE id = $1;
