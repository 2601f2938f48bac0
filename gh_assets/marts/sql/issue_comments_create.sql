-- marts.issue_comments: one row per comment on an issue or a pull request's conversation, latest version.
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.issue_comments (
    repository         VARCHAR     NOT NULL,
    row_key            VARCHAR     NOT NULL,  -- owner/name/id
    id                 BIGINT      NOT NULL,
    issue_number       BIGINT      NOT NULL,  -- the issue (or PR) commented on
    user_login         VARCHAR,
    user_id            BIGINT,
    author_association VARCHAR,
    body_length        UINTEGER,              -- characters; the body itself stays in the raw pages
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    html_url           VARCHAR,
    partition_date     DATE        NOT NULL,
    PRIMARY KEY (repository, id)
);
