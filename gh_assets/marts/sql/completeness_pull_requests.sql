-- Pull requests of one repository in marts.pull_requests whose newest updated_at is in [$start, $end):
-- what GitHub's search `repo:o/r is:pr updated:A..B` counts (gh_assets/github/completeness.py).
SELECT count(*) FROM marts.pull_requests
WHERE lower(repository) = lower($repository) AND updated_at >= $start AND updated_at < $end;
