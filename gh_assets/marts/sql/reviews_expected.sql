WITH staged AS (SELECT * FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true)),
newest AS (SELECT pull_number, max(partition_date) AS partition_date FROM staged GROUP BY pull_number)
SELECT count(DISTINCT (staged.pull_number, staged.id)) FROM staged JOIN newest USING (pull_number, partition_date);
