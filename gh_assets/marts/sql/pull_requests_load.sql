-- Rebuild one repository's rows of marts.pull_requests from all of its staged partitions: the latest
-- updated_at wins (ties: the latest capture). Parameters: $repository, $staged_glob.
DELETE FROM marts.pull_requests WHERE repository = $repository;

INSERT INTO marts.pull_requests BY NAME
SELECT * EXCLUDE (fetched_at)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true)
WHERE repository = $repository
QUALIFY row_number() OVER (PARTITION BY number ORDER BY updated_at DESC, fetched_at DESC) = 1;
