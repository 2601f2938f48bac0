-- marts.commits: one row per commit of every repository (commits never change; the latest capture is kept).
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.commits (
    repository       VARCHAR     NOT NULL,
    row_key          VARCHAR     NOT NULL,  -- owner/name/sha
    sha              VARCHAR     NOT NULL,
    author_login     VARCHAR,               -- null when the author's e-mail is linked to no GitHub account
    author_id        BIGINT,
    committer_login  VARCHAR,
    author_name      VARCHAR,               -- the git identity, always kept
    author_email     VARCHAR,
    author_date      TIMESTAMPTZ,
    committer_name   VARCHAR,
    committer_email  VARCHAR,
    committer_date   TIMESTAMPTZ NOT NULL,
    message_headline VARCHAR,
    message_length   UINTEGER,
    parents          UINTEGER,              -- 2+ for merge commits
    comment_count    BIGINT,
    verified         BOOLEAN,
    html_url         VARCHAR,
    partition_date   DATE        NOT NULL,  -- the first day of the committer date's month
    PRIMARY KEY (repository, sha)
);
