-- Rows marts.pull_requests must hold for the repository: its distinct PR numbers staged. Parameters: $staged_glob.
SELECT count(DISTINCT number) FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true);
