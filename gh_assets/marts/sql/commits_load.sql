-- Rebuild one repository's rows of marts.commits from all of its staged months.
DELETE FROM marts.commits WHERE repository = $repository;

INSERT INTO marts.commits BY NAME
SELECT * EXCLUDE (fetched_at)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = true)
WHERE repository = $repository
QUALIFY row_number() OVER (PARTITION BY sha ORDER BY fetched_at DESC) = 1;
