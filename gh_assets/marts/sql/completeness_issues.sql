-- Issues (not pull requests) of one repository in marts.issues whose newest updated_at is in [$start, $end):
-- what GitHub's search `repo:o/r is:issue updated:A..B` counts (gh_assets/github/completeness.py).
SELECT count(*) FROM marts.issues
WHERE lower(repository) = lower($repository) AND NOT is_pull_request AND updated_at >= $start AND updated_at < $end;
