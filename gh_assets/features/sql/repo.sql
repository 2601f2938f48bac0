-- features: repo (repository) x event_timestamp, raw values, every snapshot day of its loaded range.
CREATE OR REPLACE TEMP TABLE repo_windowed AS
WITH sw AS (
    SELECT s.repository, s.event_timestamp, w.window_days, s.event_timestamp - to_days(w.window_days) AS window_start
    FROM snapshots s CROSS JOIN feature_windows w
),
firsts AS (SELECT repository, login, min(happened_at) AS first_at FROM contributor_events GROUP BY ALL),
per_login AS (
    SELECT sw.repository, sw.event_timestamp, sw.window_days, e.login, count(*) AS n,
           any_value(epoch(sw.event_timestamp) - epoch(f.first_at)) / 86400.0 AS experience_days
    FROM sw
    JOIN contributor_events e ON e.repository = sw.repository AND e.happened_at > sw.window_start AND e.happened_at <= sw.event_timestamp
    JOIN firsts f ON f.repository = e.repository AND f.login = e.login
    GROUP BY ALL
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY repository, event_timestamp, window_days ORDER BY n, login) AS rk FROM per_login
),
team AS (
    -- Gini from the ascending ranks: 2 * sum(i * x_i) / (n * sum x) - (n + 1) / n
    SELECT repository, event_timestamp, window_days, count(*) AS active_contributors,
           2.0 * sum(rk * n) / (count(*) * sum(n)) - (count(*) + 1.0) / count(*) AS activity_gini,
           stddev_pop(experience_days) AS experience_spread,
           avg(experience_days) AS experience_avg, min(experience_days) AS experience_min, max(experience_days) AS experience_max
    FROM ranked GROUP BY ALL
),
merged AS (
    SELECT sw.repository, sw.event_timestamp, sw.window_days,
           avg(CASE WHEN EXISTS (
                   SELECT 1 FROM marts.reviews r
                   WHERE r.repository = p.repository AND r.pull_number = p.number AND r.user_login <> p.user_login
                     AND r.submitted_at <= p.merged_at
               ) THEN 1.0 ELSE 0.0 END) AS review_coverage
    FROM sw JOIN marts.pull_requests p
      ON p.repository = sw.repository AND p.is_merged AND p.merged_at > sw.window_start AND p.merged_at <= sw.event_timestamp
    GROUP BY ALL
),
participants AS (
    SELECT repository, pull_number AS number, user_login AS person, submitted_at AS at FROM marts.reviews WHERE submitted_at IS NOT NULL
    UNION ALL SELECT repository, issue_number, user_login, created_at FROM marts.issue_comments
),
per_pr AS (
    SELECT sw.repository, sw.event_timestamp, sw.window_days, p.number,
           count(DISTINCT x.person) FILTER (WHERE x.person IS NOT NULL AND x.person IS DISTINCT FROM p.user_login AND x.at <= sw.event_timestamp) AS people
    FROM sw JOIN marts.pull_requests p
      ON p.repository = sw.repository AND p.created_at > sw.window_start AND p.created_at <= sw.event_timestamp
    LEFT JOIN participants x ON x.repository = p.repository AND x.number = p.number
    GROUP BY ALL
),
collab AS (SELECT repository, event_timestamp, window_days, avg(people) AS collaboration_score FROM per_pr GROUP BY ALL)
SELECT sw.repository, sw.event_timestamp, sw.window_days,
       coalesce(t.active_contributors, 0) AS active_contributors, t.activity_gini, m.review_coverage, t.experience_spread,
       t.experience_avg, t.experience_min, t.experience_max, c.collaboration_score
FROM sw
LEFT JOIN team t USING (repository, event_timestamp, window_days)
LEFT JOIN merged m USING (repository, event_timestamp, window_days)
LEFT JOIN collab c USING (repository, event_timestamp, window_days);

CREATE OR REPLACE TEMP TABLE repo_static AS
SELECT s.repository, s.event_timestamp,
       count(i.number) AS open_issues
FROM snapshots s LEFT JOIN marts.issues i
  ON i.repository = s.repository AND NOT i.is_pull_request AND i.created_at <= s.event_timestamp
 AND (i.closed_at IS NULL OR i.closed_at > s.event_timestamp)
GROUP BY ALL;
