-- features: issue (repository, number) x event_timestamp, raw values, on the days the issue is open
-- (created by then, not closed by then). PRs are not issues here. Labels, body and milestone are the
-- newest captured values (the marts keep no history of them).
CREATE OR REPLACE TEMP TABLE issue_grid AS
SELECT s.repository, i.number, s.event_timestamp, i.created_at, i.labels, i.body, i.milestone_number
FROM snapshots s JOIN marts.issues i
  ON i.repository = s.repository AND NOT i.is_pull_request AND i.created_at <= s.event_timestamp
 AND (i.closed_at IS NULL OR i.closed_at > s.event_timestamp);

CREATE OR REPLACE TEMP TABLE issue_windowed AS
SELECT g.repository, g.number, g.event_timestamp, w.window_days, count(c.id) AS comments
FROM issue_grid g CROSS JOIN feature_windows w
LEFT JOIN marts.issue_comments c
  ON c.repository = g.repository AND c.issue_number = g.number
 AND c.created_at > g.event_timestamp - to_days(w.window_days) AND c.created_at <= g.event_timestamp
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE issue_static AS
WITH talk AS (
    SELECT g.repository, g.number, g.event_timestamp, count(c.id) AS comments_total, count(DISTINCT c.user_login) AS participants
    FROM issue_grid g JOIN marts.issue_comments c
      ON c.repository = g.repository AND c.issue_number = g.number AND c.created_at <= g.event_timestamp
    GROUP BY ALL
),
refs AS (
    SELECT g.repository, g.number, g.event_timestamp,
           count(DISTINCT r.from_number) FILTER (WHERE r.from_is_pr) AS linked_prs,
           count(DISTINCT r.from_number) AS "references"
    FROM issue_grid g JOIN issue_refs r
      ON r.repository = g.repository AND r.to_number = g.number AND r.from_created_at <= g.event_timestamp
    GROUP BY ALL
),
prio AS (
    SELECT g.repository, g.number, g.event_timestamp, max(m.weight) AS priority
    FROM issue_grid g JOIN priority_map m ON list_contains(list_transform(coalesce(g.labels, []), lambda l: lower(l)), m.label)
    GROUP BY ALL
)
SELECT g.repository, g.number, g.event_timestamp,
       coalesce(t.comments_total, 0) AS comments_total,
       coalesce(t.participants, 0) AS participants,
       coalesce(length(g.body), 0) AS body_length,
       coalesce(r.linked_prs, 0) AS linked_prs,
       coalesce(r."references", 0) AS "references",
       p.priority,
       (epoch(g.event_timestamp) - epoch(g.created_at)) / 86400.0 AS age_days,
       (epoch(d.due_on) - epoch(g.event_timestamp)) / 86400.0 AS days_until_milestone_due
FROM issue_grid g
LEFT JOIN talk t USING (repository, number, event_timestamp)
LEFT JOIN refs r USING (repository, number, event_timestamp)
LEFT JOIN prio p USING (repository, number, event_timestamp)
LEFT JOIN milestone_dues d ON d.repository = lower(g.repository) AND d.milestone_number = g.milestone_number;
