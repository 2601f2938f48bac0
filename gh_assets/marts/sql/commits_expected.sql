SELECT count(DISTINCT sha) FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true);
