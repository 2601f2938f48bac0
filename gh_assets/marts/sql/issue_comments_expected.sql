-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
SELECT count(DISTINCT id) FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name);
