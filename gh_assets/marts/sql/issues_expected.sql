-- Rows marts.issues must hold for the repository: its distinct (id, number) staged. (id, number), not id alone:
-- one id on two issue numbers in different days is corrupt data that "latest wins" would silently fold.
SELECT count(*) FROM (SELECT DISTINCT id, number FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true));
