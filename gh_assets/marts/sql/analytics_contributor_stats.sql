-- marts.contributor_stats: repository x login: what each account did, over everything loaded.
SET TimeZone = 'UTC';

CREATE OR REPLACE TABLE marts.contributor_stats AS
WITH events AS (
    SELECT repository, user_login AS login, 'issue' AS kind, created_at AS happened_at FROM marts.issues WHERE NOT is_pull_request AND user_login IS NOT NULL
    UNION ALL SELECT repository, user_login, 'pr', created_at FROM marts.pull_requests WHERE user_login IS NOT NULL
    UNION ALL SELECT repository, user_login, 'merged', merged_at FROM marts.pull_requests WHERE is_merged AND user_login IS NOT NULL
    UNION ALL SELECT repository, user_login, 'review', submitted_at FROM marts.reviews WHERE user_login IS NOT NULL AND submitted_at IS NOT NULL
    UNION ALL SELECT repository, author_login, 'commit', committer_date FROM marts.commits WHERE author_login IS NOT NULL
    UNION ALL SELECT repository, user_login, 'comment', created_at FROM marts.issue_comments WHERE user_login IS NOT NULL
)
SELECT repository, login,
       count(*) FILTER (WHERE kind = 'issue') AS issues_opened,
       count(*) FILTER (WHERE kind = 'pr') AS prs_opened,
       count(*) FILTER (WHERE kind = 'merged') AS prs_merged,
       count(*) FILTER (WHERE kind = 'review') AS reviews_given,
       count(*) FILTER (WHERE kind = 'commit') AS commits,
       count(*) FILTER (WHERE kind = 'comment') AS comments,
       min(happened_at) AS first_activity_at,
       max(happened_at) AS last_activity_at
FROM events
GROUP BY ALL
ORDER BY ALL;
