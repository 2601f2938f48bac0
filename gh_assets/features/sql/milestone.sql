-- features: milestone (repository, milestone_number) x event_timestamp, raw values, from the day its first
-- issue was created. Issues and PRs both count, as in GitHub's milestone counts. Membership and due_on are
-- the newest captured values.
CREATE OR REPLACE TEMP TABLE milestone_members AS
SELECT repository, milestone_number, number, created_at, closed_at, user_login, assignees
FROM marts.issues WHERE milestone_number IS NOT NULL;

CREATE OR REPLACE TEMP TABLE milestone_grid AS
WITH firsts AS (SELECT repository, milestone_number, min(created_at) AS first_at FROM milestone_members GROUP BY ALL)
SELECT s.repository, f.milestone_number, s.event_timestamp
FROM snapshots s JOIN firsts f ON f.repository = s.repository AND f.first_at <= s.event_timestamp;

CREATE OR REPLACE TEMP TABLE milestone_static AS
WITH counts AS (
    SELECT g.repository, g.milestone_number, g.event_timestamp,
           count(*) AS total_issues,
           count(*) FILTER (WHERE m.closed_at IS NOT NULL AND m.closed_at <= g.event_timestamp) AS closed_issues
    FROM milestone_grid g JOIN milestone_members m
      ON m.repository = g.repository AND m.milestone_number = g.milestone_number AND m.created_at <= g.event_timestamp
    GROUP BY ALL
),
people AS (
    SELECT repository, milestone_number, event_timestamp, count(DISTINCT person) AS team_size
    FROM (
        SELECT g.repository, g.milestone_number, g.event_timestamp, unnest(list_append(coalesce(m.assignees, []), m.user_login)) AS person
        FROM milestone_grid g JOIN milestone_members m
          ON m.repository = g.repository AND m.milestone_number = g.milestone_number AND m.created_at <= g.event_timestamp
    )
    WHERE person IS NOT NULL GROUP BY ALL
)
SELECT g.repository, g.milestone_number, g.event_timestamp,
       c.total_issues, c.total_issues - c.closed_issues AS open_issues, c.closed_issues,
       c.closed_issues / c.total_issues AS completion,
       (epoch(d.due_on) - epoch(g.event_timestamp)) / 86400.0 AS days_to_due,
       coalesce(p.team_size, 0) AS team_size
FROM milestone_grid g
JOIN counts c USING (repository, milestone_number, event_timestamp)
LEFT JOIN people p USING (repository, milestone_number, event_timestamp)
LEFT JOIN milestone_dues d ON d.repository = lower(g.repository) AND d.milestone_number = g.milestone_number;

CREATE OR REPLACE TEMP TABLE milestone_windowed AS
WITH closed AS (
    SELECT g.repository, g.milestone_number, g.event_timestamp, w.window_days,
           count(m.number) * 7.0 / any_value(w.window_days) AS closed_per_week
    FROM milestone_grid g CROSS JOIN feature_windows w
    LEFT JOIN milestone_members m
      ON m.repository = g.repository AND m.milestone_number = g.milestone_number
     AND m.closed_at > g.event_timestamp - to_days(w.window_days) AND m.closed_at <= g.event_timestamp
    GROUP BY ALL
)
SELECT c.*,
       CASE
           WHEN s.days_to_due IS NULL THEN NULL
           WHEN s.open_issues = 0 THEN 0.0
           -- r / (1 + r) with r = remaining / expected closures by the due date = open / (open + expected)
           ELSE s.open_issues / (s.open_issues + c.closed_per_week / 7.0 * greatest(s.days_to_due, 0))
       END AS risk
FROM closed c JOIN milestone_static s USING (repository, milestone_number, event_timestamp);
