-- Commits of one repository in marts.commits whose committer date is in [$start, $end): what
-- GET /repos/o/r/commits?since=A&until=B counts (gh_assets/github/completeness.py).
SELECT count(*) FROM marts.commits
WHERE lower(repository) = lower($repository) AND committer_date >= $start AND committer_date < $end;
