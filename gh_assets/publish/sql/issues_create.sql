-- PostgreSQL marts.issues: the columns of DuckDB's marts.issues, types mapped VARCHAR -> text,
-- VARCHAR[] -> text[].
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.issues (
    repository         text        NOT NULL,  -- owner/name
    id                 bigint      NOT NULL,  -- GitHub's issue id
    node_id            text,
    number             bigint      NOT NULL,
    title              text        NOT NULL,
    body               text,
    state              text        NOT NULL,  -- open | closed
    state_reason       text,
    locked             boolean,
    is_pull_request    boolean     NOT NULL,
    user_login         text,                  -- null for deleted ("ghost") accounts
    user_id            bigint,
    author_association text,
    labels             text[],
    assignees          text[],
    milestone_number   bigint,
    milestone_title    text,
    comments           bigint      NOT NULL,
    reactions_total    bigint,
    html_url           text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    closed_at          timestamptz,
    partition_date     date        NOT NULL,  -- the staged partition the version came from
    PRIMARY KEY (repository, id)
);

CREATE INDEX IF NOT EXISTS issues_partition_idx ON marts.issues (repository, partition_date);
