-- Rebuild one repository's rows of marts.issue_comments: the latest updated_at per comment wins.
DELETE FROM marts.issue_comments WHERE repository = $repository;

INSERT INTO marts.issue_comments BY NAME
SELECT * EXCLUDE (fetched_at)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true)
WHERE repository = $repository
QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, fetched_at DESC) = 1;
