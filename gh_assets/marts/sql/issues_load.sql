-- Rebuild one repository's rows of marts.issues from every staged partition of that repository:
-- the latest updated_at wins (ties: the latest capture). Runs inside one transaction, so a rerun of any
-- partition leaves identical rows and readers never see a half-loaded repository.
-- Parameters: $repository (owner/name), $staged_glob (the repository's staged Parquet files).
-- $union_by_name: false reads every file by the first one's columns (fast); the loader retries with true
-- when files from different versions differ.
-- Repository names are case-insensitive on GitHub: rows of any spelling are replaced, and written with $repository's
-- (the partition key, GitHub's canonical spelling).
DELETE FROM marts.issues WHERE lower(repository) = lower($repository);

INSERT INTO marts.issues
SELECT
    $repository::VARCHAR AS repository, id, node_id, number, title, body, state, state_reason, locked, is_pull_request,
    user_login, user_id, author_association, labels, assignees, milestone_number, milestone_title,
    comments, reactions_total, html_url, created_at, updated_at, closed_at, partition_date
FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name, filename = 'source_file', file_row_number = true) AS staged
SEMI JOIN (
    -- the winning version of each key, chosen on narrow columns: the wide rows are read once, not sorted
    SELECT source_file, file_row_number AS source_row
    FROM read_parquet($staged_glob, hive_partitioning = false, union_by_name = $union_by_name, filename = 'source_file', file_row_number = true)
    WHERE lower(repository) = lower($repository)
    QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, fetched_at DESC) = 1
) AS latest ON staged.source_file = latest.source_file AND staged.file_row_number = latest.source_row;
