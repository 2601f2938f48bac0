-- marts.issue_response_times: one row per issue (pull requests included, flagged): time to the first comment
-- by someone other than the author, and time to close.
SET TimeZone = 'UTC';

CREATE OR REPLACE TABLE marts.issue_response_times AS
WITH first_response AS (
    SELECT c.repository, c.issue_number, min(c.created_at) AS first_response_at, count(*) AS responses
    FROM marts.issue_comments c
    JOIN marts.issues i ON i.repository = c.repository AND i.number = c.issue_number
    WHERE c.user_login IS DISTINCT FROM i.user_login
    GROUP BY ALL
)
SELECT i.repository, i.number, i.is_pull_request, i.user_login AS author, i.state, i.created_at, i.closed_at,
       f.first_response_at,
       date_diff('second', i.created_at, f.first_response_at) / 3600.0 AS time_to_first_response_hours,
       date_diff('second', i.created_at, i.closed_at) / 3600.0 AS time_to_close_hours,
       coalesce(f.responses, 0) AS responses
FROM marts.issues i
LEFT JOIN first_response f ON f.repository = i.repository AND f.issue_number = i.number
ORDER BY i.repository, i.number;
