-- marts.commit_activity_monthly: repository x author x month of the committer date. The author is the
-- GitHub login when the e-mail is linked to an account, else the git e-mail (linked_account = false).
SET TimeZone = 'UTC';

CREATE OR REPLACE TABLE marts.commit_activity_monthly AS
SELECT repository,
       coalesce(author_login, author_email, author_name) AS author,
       author_login IS NOT NULL AS linked_account,
       date_trunc('month', committer_date)::DATE AS month,
       count(*) AS commits,
       count(*) FILTER (WHERE parents > 1) AS merge_commits,
       min(committer_date) AS first_commit_at,
       max(committer_date) AS last_commit_at
FROM marts.commits
GROUP BY ALL
ORDER BY ALL;
