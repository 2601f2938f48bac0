-- marts.pr_lead_times: one row per pull request: how long it took to get a first review and to merge.
-- First review = the earliest submitted review by someone other than the author.
SET TimeZone = 'UTC';

CREATE OR REPLACE TABLE marts.pr_lead_times AS
WITH first_review AS (
    SELECT r.repository, r.pull_number,
           min(r.submitted_at) AS first_review_at,
           count(*) AS reviews,
           count(DISTINCT r.user_login) AS reviewers
    FROM marts.reviews r
    JOIN marts.pull_requests p ON p.repository = r.repository AND p.number = r.pull_number
    WHERE r.submitted_at IS NOT NULL AND r.state <> 'PENDING' AND r.user_login IS DISTINCT FROM p.user_login
    GROUP BY ALL
), files AS (
    SELECT repository, pull_number, count(*) AS files_changed, sum(additions) AS additions, sum(deletions) AS deletions
    FROM marts.pr_files
    GROUP BY ALL
)
SELECT p.repository, p.number, p.user_login AS author, p.state, p.is_merged,
       p.created_at, p.merged_at, p.closed_at, p.lead_time_hours,
       f.first_review_at,
       date_diff('second', p.created_at, f.first_review_at) / 3600.0 AS time_to_first_review_hours,
       coalesce(f.reviews, 0) AS reviews, coalesce(f.reviewers, 0) AS reviewers,
       coalesce(x.files_changed, 0) AS files_changed, coalesce(x.additions, 0) AS additions, coalesce(x.deletions, 0) AS deletions
FROM marts.pull_requests p
LEFT JOIN first_review f ON f.repository = p.repository AND f.pull_number = p.number
LEFT JOIN files x ON x.repository = p.repository AND x.pull_number = p.number
ORDER BY p.repository, p.number;
