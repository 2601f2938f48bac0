-- marts.review_turnaround: repository x reviewer x month of submission: reviews given and how soon after
-- the pull request opened they came.
SET TimeZone = 'UTC';

CREATE OR REPLACE TABLE marts.review_turnaround AS
SELECT r.repository,
       r.user_login AS reviewer,
       date_trunc('month', r.submitted_at)::DATE AS month,
       count(*) AS reviews,
       count(*) FILTER (WHERE r.state = 'APPROVED') AS approvals,
       count(*) FILTER (WHERE r.state = 'CHANGES_REQUESTED') AS changes_requested,
       count(DISTINCT r.pull_number) AS pull_requests,
       median(date_diff('second', p.created_at, r.submitted_at) / 3600.0) AS median_hours_after_open
FROM marts.reviews r
JOIN marts.pull_requests p ON p.repository = r.repository AND p.number = r.pull_number
WHERE r.submitted_at IS NOT NULL AND r.user_login IS NOT NULL
GROUP BY ALL
ORDER BY ALL;
