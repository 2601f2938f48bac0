-- features: contributor (repository, login) x event_timestamp, raw values. A contributor has a row on the
-- days they did anything (issue, PR, merge, review, commit, comment) within the longest window.
CREATE OR REPLACE TEMP TABLE contributor_grid AS
WITH firsts AS (SELECT repository, login, min(happened_at) AS first_at FROM contributor_events GROUP BY ALL),
active AS (
    SELECT DISTINCT s.repository, e.login, s.event_timestamp
    FROM snapshots s JOIN contributor_events e
      ON e.repository = s.repository AND e.happened_at <= s.event_timestamp AND e.happened_at > s.event_timestamp - to_days($max_window)
)
SELECT a.*, f.first_at FROM active a JOIN firsts f USING (repository, login);

CREATE OR REPLACE TEMP TABLE contributor_windowed AS
WITH gw AS (
    SELECT g.repository, g.login, g.event_timestamp, w.window_days, g.event_timestamp - to_days(w.window_days) AS window_start
    FROM contributor_grid g CROSS JOIN feature_windows w
),
counts AS (
    SELECT gw.repository, gw.login, gw.event_timestamp, gw.window_days,
           count(*) FILTER (WHERE e.kind = 'issue_opened') AS issues_opened,
           count(*) FILTER (WHERE e.kind = 'pr_opened') AS prs_opened,
           count(*) FILTER (WHERE e.kind = 'pr_merged') AS prs_merged,
           count(*) FILTER (WHERE e.kind = 'review_given') AS reviews_given,
           count(*) FILTER (WHERE e.kind = 'commit') AS commits,
           count(*) FILTER (WHERE e.kind = 'comment') AS comments
    FROM gw LEFT JOIN contributor_events e
      ON e.repository = gw.repository AND e.login = gw.login AND e.happened_at > gw.window_start AND e.happened_at <= gw.event_timestamp
    GROUP BY ALL
),
merged AS (
    SELECT gw.repository, gw.login, gw.event_timestamp, gw.window_days, p.number, p.merged_at, p.lead_time_hours
    FROM gw JOIN marts.pull_requests p
      ON p.repository = gw.repository AND p.user_login = gw.login AND p.is_merged
     AND p.merged_at > gw.window_start AND p.merged_at <= gw.event_timestamp
),
velocity_merge AS (
    SELECT repository, login, event_timestamp, window_days, median(lead_time_hours) AS median_hours_to_merge,
           avg(CASE WHEN EXISTS (
                   SELECT 1 FROM issue_refs r
                   WHERE r.repository = m.repository AND r.to_number = m.number AND r.from_is_bug AND NOT r.from_is_pr
                     AND r.from_created_at > m.merged_at
                     AND r.from_created_at <= least(m.event_timestamp, m.merged_at + to_days(m.window_days))
               ) THEN 1.0 ELSE 0.0 END) AS bug_followup_share
    FROM merged m GROUP BY ALL
),
velocity_close AS (
    SELECT gw.repository, gw.login, gw.event_timestamp, gw.window_days,
           median(date_diff('second', a.created_at, a.closed_at) / 3600.0) AS median_hours_to_close
    FROM gw JOIN issue_assignees a
      ON a.repository = gw.repository AND a.login = gw.login AND NOT a.is_pull_request
     AND a.closed_at > gw.window_start AND a.closed_at <= gw.event_timestamp
    GROUP BY ALL
),
-- effort proxies: size and files of a PR as last seen (marts.pr_files keeps its newest capture); review rounds
-- at the event time (distinct commits reviewed by someone other than the author, submitted by then)
pr_effort AS (
    SELECT p.repository, p.number, p.user_login, p.created_at,
           coalesce(sum(f.additions + f.deletions), 0) AS size, count(f.filename) AS files
    FROM marts.pull_requests p LEFT JOIN marts.pr_files f ON f.repository = p.repository AND f.pull_number = p.number
    WHERE p.user_login IS NOT NULL GROUP BY ALL
),
pr_windowed AS (
    SELECT gw.repository, gw.login, gw.event_timestamp, gw.window_days, e.number,
           any_value(e.size) AS size, any_value(e.files) AS files, count(DISTINCT r.commit_id) AS rounds
    FROM gw JOIN pr_effort e
      ON e.repository = gw.repository AND e.user_login = gw.login AND e.created_at > gw.window_start AND e.created_at <= gw.event_timestamp
    LEFT JOIN marts.reviews r
      ON r.repository = e.repository AND r.pull_number = e.number AND r.user_login IS DISTINCT FROM e.user_login AND r.submitted_at <= gw.event_timestamp
    GROUP BY gw.repository, gw.login, gw.event_timestamp, gw.window_days, e.number
),
effort AS (
    SELECT repository, login, event_timestamp, window_days,
           avg(size) AS avg_pr_size, avg(files) AS avg_files_touched, avg(rounds) AS avg_review_rounds
    FROM pr_windowed GROUP BY ALL
),
co AS (
    SELECT gw.repository, gw.login, gw.event_timestamp, gw.window_days, count(DISTINCT r.user_login) AS co_reviewers
    FROM gw
    JOIN marts.pull_requests p ON p.repository = gw.repository AND p.user_login = gw.login
    JOIN marts.reviews r ON r.repository = p.repository AND r.pull_number = p.number AND r.user_login <> gw.login
     AND r.submitted_at > gw.window_start AND r.submitted_at <= gw.event_timestamp
    GROUP BY ALL
)
SELECT c.*, vm.median_hours_to_merge, vc.median_hours_to_close, coalesce(co.co_reviewers, 0) AS co_reviewers, vm.bug_followup_share,
       ef.avg_pr_size, ef.avg_files_touched, ef.avg_review_rounds
FROM counts c
LEFT JOIN velocity_merge vm USING (repository, login, event_timestamp, window_days)
LEFT JOIN velocity_close vc USING (repository, login, event_timestamp, window_days)
LEFT JOIN co USING (repository, login, event_timestamp, window_days)
LEFT JOIN effort ef USING (repository, login, event_timestamp, window_days);

CREATE OR REPLACE TEMP TABLE contributor_static AS
WITH workload AS (
    SELECT g.repository, g.login, g.event_timestamp,
           count(*) FILTER (WHERE NOT a.is_pull_request) AS open_assigned_issues,
           count(*) FILTER (WHERE a.is_pull_request) AS open_assigned_prs,
           count(*) FILTER (WHERE len(list_intersect(a.labels_lower, $in_progress_labels::VARCHAR[])) > 0) AS open_assigned_in_progress,
           count(*) FILTER (WHERE len(list_intersect(a.labels_lower, $blocked_labels::VARCHAR[])) > 0) AS open_assigned_blocked
    FROM contributor_grid g JOIN issue_assignees a
      ON a.repository = g.repository AND a.login = g.login AND a.created_at <= g.event_timestamp
     AND (a.closed_at IS NULL OR a.closed_at > g.event_timestamp)
    GROUP BY ALL
),
pr_mix AS (
    -- per PR: the extensions and top directories it touches, with lines changed
    SELECT p.repository, p.user_login AS login, p.number, p.created_at, f.extension, f.top_directory, sum(f.changes) AS changes
    FROM marts.pull_requests p JOIN marts.pr_files f ON f.repository = p.repository AND f.pull_number = p.number
    WHERE p.user_login IS NOT NULL GROUP BY ALL
),
ext AS (
    SELECT g.repository, g.login, g.event_timestamp, m.extension AS item, count(DISTINCT m.number) AS prs, sum(m.changes) AS changes
    FROM contributor_grid g JOIN pr_mix m ON m.repository = g.repository AND m.login = g.login AND m.created_at <= g.event_timestamp
    WHERE m.extension IS NOT NULL AND m.extension <> '' GROUP BY ALL
),
dir AS (
    SELECT g.repository, g.login, g.event_timestamp, m.top_directory AS item, count(DISTINCT m.number) AS prs, sum(m.changes) AS changes
    FROM contributor_grid g JOIN pr_mix m ON m.repository = g.repository AND m.login = g.login AND m.created_at <= g.event_timestamp
    WHERE m.top_directory IS NOT NULL GROUP BY ALL
),
top_ext AS (SELECT repository, login, event_timestamp, list(item ORDER BY prs DESC, changes DESC, item)[1:3] AS top_extensions FROM ext GROUP BY ALL),
top_dir AS (SELECT repository, login, event_timestamp, list(item ORDER BY prs DESC, changes DESC, item)[1:3] AS top_directories FROM dir GROUP BY ALL)
SELECT g.repository, g.login, g.event_timestamp,
       (epoch(g.event_timestamp) - epoch(g.first_at)) / 86400.0 AS experience_days,
       coalesce(w.open_assigned_issues, 0) AS open_assigned_issues,
       coalesce(w.open_assigned_prs, 0) AS open_assigned_prs,
       coalesce(w.open_assigned_in_progress, 0) AS open_assigned_in_progress,
       coalesce(w.open_assigned_blocked, 0) AS open_assigned_blocked,
       te.top_extensions, td.top_directories
FROM contributor_grid g
LEFT JOIN workload w USING (repository, login, event_timestamp)
LEFT JOIN top_ext te USING (repository, login, event_timestamp)
LEFT JOIN top_dir td USING (repository, login, event_timestamp);
