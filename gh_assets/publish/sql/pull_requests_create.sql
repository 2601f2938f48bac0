-- PostgreSQL marts.pull_requests: the columns of DuckDB's marts.pull_requests, types mapped
-- VARCHAR -> text, VARCHAR[] -> text[], DOUBLE -> double precision.
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.pull_requests (
    repository          text             NOT NULL,  -- owner/name
    row_key             text             NOT NULL,  -- owner/name/number
    id                  bigint           NOT NULL,  -- GitHub's pull request id (not the issue id)
    number              bigint           NOT NULL,
    title               text             NOT NULL,
    state               text             NOT NULL,  -- open | closed
    draft               boolean,
    locked              boolean,
    user_login          text,                       -- the author; null for deleted accounts
    user_id             bigint,
    author_association  text,
    labels              text[],
    requested_reviewers text[],
    milestone_number    bigint,
    head_ref            text,
    base_ref            text,
    head_sha            text,
    merge_commit_sha    text,
    created_at          timestamptz      NOT NULL,
    updated_at          timestamptz      NOT NULL,
    closed_at           timestamptz,
    merged_at           timestamptz,
    is_merged           boolean          NOT NULL,
    lead_time_hours     double precision,           -- created_at -> merged_at; null unless merged
    html_url            text,
    partition_date      date             NOT NULL,  -- the staged partition (day of updated_at) the version came from
    PRIMARY KEY (repository, number)
);

CREATE INDEX IF NOT EXISTS pull_requests_partition_idx ON marts.pull_requests (repository, partition_date);
