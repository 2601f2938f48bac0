-- Shared inputs of every feature table, as temp tables: windows, snapshots (event timestamps), dated
-- contributor events, issue assignees and #number references. Needs the view milestone_due_input
-- (repository, milestone_number, due_on) registered by the caller (empty when the raw pages hold none).
-- Event timestamps are the last microsecond of a UTC day: a row at T sees only data with timestamps <= T.
SET TimeZone = 'UTC';

CREATE SCHEMA IF NOT EXISTS features;

CREATE OR REPLACE TEMP TABLE feature_windows AS
SELECT unnest($windows::INTEGER[]) AS window_days;

CREATE OR REPLACE TEMP TABLE contributor_events AS
SELECT repository, user_login AS login, 'issue_opened' AS kind, created_at AS happened_at FROM marts.issues WHERE NOT is_pull_request AND user_login IS NOT NULL
UNION ALL SELECT repository, user_login, 'pr_opened', created_at FROM marts.pull_requests WHERE user_login IS NOT NULL
UNION ALL SELECT repository, user_login, 'pr_merged', merged_at FROM marts.pull_requests WHERE is_merged AND merged_at IS NOT NULL AND user_login IS NOT NULL
UNION ALL SELECT repository, user_login, 'review_given', submitted_at FROM marts.reviews WHERE user_login IS NOT NULL AND submitted_at IS NOT NULL
UNION ALL SELECT repository, author_login, 'commit', committer_date FROM marts.commits WHERE author_login IS NOT NULL
UNION ALL SELECT repository, user_login, 'comment', created_at FROM marts.issue_comments WHERE user_login IS NOT NULL;

-- The loaded range of each repository: first to last day with any dated record (updates included).
CREATE OR REPLACE TEMP TABLE repo_bounds AS
WITH stamps AS (
    SELECT repository, happened_at AS ts FROM contributor_events
    UNION ALL SELECT repository, created_at FROM marts.issues
    UNION ALL SELECT repository, updated_at FROM marts.issues
    UNION ALL SELECT repository, closed_at FROM marts.issues WHERE closed_at IS NOT NULL
    UNION ALL SELECT repository, updated_at FROM marts.pull_requests
)
SELECT repository, min(ts)::DATE AS first_day, max(ts)::DATE AS last_day FROM stamps GROUP BY repository;

CREATE OR REPLACE TEMP TABLE snapshots AS
WITH days AS (
    SELECT repository, unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS day FROM repo_bounds WHERE $daily
    UNION ALL
    SELECT b.repository, d.day FROM repo_bounds b CROSS JOIN (SELECT unnest($dates::DATE[]) AS day) d WHERE NOT $daily AND d.day >= b.first_day
)
SELECT DISTINCT repository, day, ((day + 1)::TIMESTAMPTZ - INTERVAL 1 MICROSECOND) AS event_timestamp FROM days;

CREATE OR REPLACE TEMP TABLE issue_assignees AS
SELECT repository, number, is_pull_request, created_at, closed_at, list_transform(coalesce(labels, []), lambda l: lower(l)) AS labels_lower,
       unnest(assignees) AS login
FROM marts.issues WHERE len(assignees) > 0;

-- Every distinct #<number> an issue or PR mentions in its title or body (its newest text), not itself.
CREATE OR REPLACE TEMP TABLE issue_refs AS
WITH mentions AS (
    SELECT repository, number AS from_number, is_pull_request AS from_is_pr, created_at AS from_created_at,
           len(list_intersect(list_transform(coalesce(labels, []), lambda l: lower(l)), $bug_labels::VARCHAR[])) > 0 AS from_is_bug,
           list_distinct(regexp_extract_all(coalesce(title, '') || ' ' || coalesce(body, ''), '#([0-9]{1,9})\b', 1)) AS refs
    FROM marts.issues
)
SELECT repository, from_number, from_is_pr, from_created_at, from_is_bug, ref::BIGINT AS to_number
FROM (SELECT *, unnest(refs) AS ref FROM mentions)
WHERE ref::BIGINT <> from_number;

CREATE OR REPLACE TEMP TABLE priority_map AS
SELECT unnest($priority_labels::VARCHAR[]) AS label, unnest($priority_weights::DOUBLE[]) AS weight;

CREATE OR REPLACE TEMP TABLE milestone_dues AS
-- repository lower-cased: it comes from the lake folder name (lower-case); joins compare lower(repository).
SELECT lower(repository) AS repository, milestone_number::BIGINT AS milestone_number, due_on::TIMESTAMPTZ AS due_on FROM milestone_due_input;
