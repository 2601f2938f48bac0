-- PR lead time per repository: median and 90th percentile of the hours from created_at to merged_at, merged PRs only.
-- Portable SQL: both DuckDB and PostgreSQL accept the ordered-set aggregate percentile_cont(...) WITHIN GROUP
-- (ORDER BY ...) and EXTRACT(EPOCH FROM <interval>); run it with the duckdb CLI or psql unchanged.
SELECT repository,
       count(*)                                                                               AS merged_prs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM merged_at - created_at) / 3600.0) AS p50_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM merged_at - created_at) / 3600.0) AS p90_hours
FROM marts.pull_requests
WHERE merged_at IS NOT NULL
GROUP BY repository
ORDER BY repository;
