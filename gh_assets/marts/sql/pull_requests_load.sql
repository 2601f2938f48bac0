-- Rebuild one repository's rows of marts.pull_requests from all of its staged partitions: the latest
-- updated_at wins (ties: the latest capture). Parameters: $repository, $staged_glob.
-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
-- Repository names are case-insensitive on GitHub: rows of any spelling are replaced, and written with $repository's
-- (the partition key, GitHub's canonical spelling).
DELETE FROM marts.pull_requests WHERE lower(repository) = lower($repository);

INSERT INTO marts.pull_requests BY NAME
SELECT * EXCLUDE (fetched_at, source_file, file_row_number) REPLACE ($repository::VARCHAR AS repository)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name, filename = 'source_file', file_row_number = true) AS staged
SEMI JOIN (
    -- the winning version of each key, chosen on narrow columns: the wide rows are read once, not sorted
    SELECT source_file, file_row_number AS source_row
    FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name, filename = 'source_file', file_row_number = true)
    WHERE lower(repository) = lower($repository)
    QUALIFY row_number() OVER (PARTITION BY number ORDER BY updated_at DESC, fetched_at DESC) = 1
) AS latest ON staged.source_file = latest.source_file AND staged.file_row_number = latest.source_row;
