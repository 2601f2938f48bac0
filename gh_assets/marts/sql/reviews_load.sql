-- Rebuild one repository's rows of marts.reviews: for each PR, the reviews of its newest staged partition.
DELETE FROM marts.reviews WHERE repository = $repository;

INSERT INTO marts.reviews BY NAME
SELECT * EXCLUDE (fetched_at)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true)
WHERE repository = $repository
QUALIFY partition_date = max(partition_date) OVER (PARTITION BY pull_number)
    AND row_number() OVER (PARTITION BY pull_number, id ORDER BY partition_date DESC, fetched_at DESC) = 1;
