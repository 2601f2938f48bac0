-- Rows marts.issues must hold for the repository: its distinct (id, number) staged. (id, number), not id alone:
-- one id on two issue numbers in different days is corrupt data that "latest wins" would silently fold.
-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
SELECT count(*) FROM (SELECT DISTINCT id, number FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name));
