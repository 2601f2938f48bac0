-- marts.repo_health_daily: repository x UTC day with any activity: flow of issues, PRs, commits, comments,
-- and the running net of issues opened minus closed since the first loaded day.
SET TimeZone = 'UTC';

CREATE OR REPLACE TABLE marts.repo_health_daily AS
WITH events AS (
    SELECT repository, created_at::DATE AS day, 'issue_opened' AS kind FROM marts.issues WHERE NOT is_pull_request
    UNION ALL SELECT repository, closed_at::DATE, 'issue_closed' FROM marts.issues WHERE NOT is_pull_request AND closed_at IS NOT NULL
    UNION ALL SELECT repository, created_at::DATE, 'pr_opened' FROM marts.pull_requests
    UNION ALL SELECT repository, merged_at::DATE, 'pr_merged' FROM marts.pull_requests WHERE is_merged
    UNION ALL SELECT repository, committer_date::DATE, 'commit' FROM marts.commits
    UNION ALL SELECT repository, created_at::DATE, 'comment' FROM marts.issue_comments
), daily AS (
    SELECT repository, day,
           count(*) FILTER (WHERE kind = 'issue_opened') AS issues_opened,
           count(*) FILTER (WHERE kind = 'issue_closed') AS issues_closed,
           count(*) FILTER (WHERE kind = 'pr_opened') AS prs_opened,
           count(*) FILTER (WHERE kind = 'pr_merged') AS prs_merged,
           count(*) FILTER (WHERE kind = 'commit') AS commits,
           count(*) FILTER (WHERE kind = 'comment') AS comments
    FROM events
    GROUP BY ALL
)
SELECT *, sum(issues_opened - issues_closed) OVER (PARTITION BY repository ORDER BY day) AS open_issues_net
FROM daily
ORDER BY repository, day;
