-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
WITH staged AS (SELECT * FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name)),
newest AS (SELECT pull_number, max(partition_date) AS partition_date FROM staged GROUP BY pull_number)
SELECT count(DISTINCT (staged.pull_number, staged.filename)) FROM staged JOIN newest USING (pull_number, partition_date);
