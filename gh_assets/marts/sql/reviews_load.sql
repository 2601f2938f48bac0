-- Rebuild one repository's rows of marts.reviews: for each PR, the reviews of its newest staged partition.
-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
-- Repository names are case-insensitive on GitHub: rows of any spelling are replaced, and written with $repository's
-- (the partition key, GitHub's canonical spelling).
DELETE FROM marts.reviews WHERE lower(repository) = lower($repository);

INSERT INTO marts.reviews BY NAME
SELECT * EXCLUDE (fetched_at) REPLACE ($repository::VARCHAR AS repository)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name)
WHERE lower(repository) = lower($repository)
QUALIFY partition_date = max(partition_date) OVER (PARTITION BY pull_number)
    AND row_number() OVER (PARTITION BY pull_number, id ORDER BY partition_date DESC, fetched_at DESC) = 1;
