-- Monthly commit activity per repository: commits, merge commits, distinct authors, first and last commit.
-- Portable SQL: runs unchanged on DuckDB (duckdb data/warehouse.duckdb < sql/monthly_commit_activity.sql)
-- and on the PostgreSQL the marts are published to (psql "$GH_ASSETS_POSTGRES_DSN" -f sql/monthly_commit_activity.sql).
-- partition_date is the first day of the committer date's month (UTC), so no time-zone-dependent date_trunc is needed.
SELECT repository,
       partition_date                                                   AS month,
       count(*)                                                         AS commits,
       sum(CASE WHEN parents >= 2 THEN 1 ELSE 0 END)                    AS merge_commits,
       count(DISTINCT coalesce(author_login, author_email, author_name)) AS authors,
       min(committer_date)                                              AS first_commit_at,
       max(committer_date)                                              AS last_commit_at
FROM marts.commits
GROUP BY repository, partition_date
ORDER BY repository, month;
