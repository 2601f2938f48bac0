-- Rebuild one repository's rows of marts.commits from all of its staged months.
-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
-- Repository names are case-insensitive on GitHub: rows of any spelling are replaced, and written with $repository's
-- (the partition key, GitHub's canonical spelling).
DELETE FROM marts.commits WHERE lower(repository) = lower($repository);

INSERT INTO marts.commits BY NAME
SELECT * EXCLUDE (fetched_at, source_file, file_row_number) REPLACE ($repository::VARCHAR AS repository)
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name, filename = 'source_file', file_row_number = true) AS staged
SEMI JOIN (
    -- the winning version of each key, chosen on narrow columns: the wide rows are read once, not sorted
    SELECT source_file, file_row_number AS source_row
    FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name, filename = 'source_file', file_row_number = true)
    WHERE lower(repository) = lower($repository)
    QUALIFY row_number() OVER (PARTITION BY sha ORDER BY fetched_at DESC) = 1
) AS latest ON staged.source_file = latest.source_file AND staged.file_row_number = latest.source_row;
