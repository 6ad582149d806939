-- One row of the floor: parameters id, body.
INSERT INTO procreg_bench_floor (id, n, body) VALUES (?, 0, ?);
