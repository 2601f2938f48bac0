-- PostgreSQL marts.commits: the columns of DuckDB's marts.commits (gh_assets/marts/sql/commits_create.sql),
-- types mapped VARCHAR -> text, UINTEGER -> bigint (with a check that keeps it unsigned).
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.commits (
    repository       text        NOT NULL,
    row_key          text        NOT NULL,  -- owner/name/sha
    sha              text        NOT NULL,
    author_login     text,                  -- null when the author's e-mail is linked to no GitHub account
    author_id        bigint,
    committer_login  text,
    author_name      text,                  -- the git identity, always kept
    author_email     text,
    author_date      timestamptz,
    committer_name   text,
    committer_email  text,
    committer_date   timestamptz NOT NULL,
    message_headline text,
    message_length   bigint CHECK (message_length >= 0),
    parents          bigint CHECK (parents >= 0),  -- 2+ for merge commits
    comment_count    bigint,
    verified         boolean,
    html_url         text,
    partition_date   date        NOT NULL,  -- the first day of the committer date's month
    PRIMARY KEY (repository, sha)
);

-- the publish deletes and the row-count check select by partition
CREATE INDEX IF NOT EXISTS commits_partition_idx ON marts.commits (repository, partition_date);
