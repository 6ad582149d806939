-- One row of the floor by primary key: parameters body, id.
UPDATE procreg_bench_floor SET n = n + 1, body = ? WHERE id = ?;
