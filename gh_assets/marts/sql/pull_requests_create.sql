-- marts.pull_requests: one row per pull request of every repository, at its latest known version.
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.pull_requests (
    repository          VARCHAR     NOT NULL,  -- owner/name
    row_key             VARCHAR     NOT NULL,  -- owner/name/number
    id                  BIGINT      NOT NULL,  -- GitHub's pull request id (not the issue id)
    number              BIGINT      NOT NULL,  -- the #number, shared with the issue of the same PR
    title               VARCHAR     NOT NULL,
    state               VARCHAR     NOT NULL,  -- open | closed
    draft               BOOLEAN,
    locked              BOOLEAN,
    user_login          VARCHAR,               -- the author; null for deleted accounts
    user_id             BIGINT,
    author_association  VARCHAR,
    labels              VARCHAR[],
    requested_reviewers VARCHAR[],             -- logins whose review is still requested
    milestone_number    BIGINT,
    head_ref            VARCHAR,
    base_ref            VARCHAR,
    head_sha            VARCHAR,
    merge_commit_sha    VARCHAR,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    closed_at           TIMESTAMPTZ,
    merged_at           TIMESTAMPTZ,
    is_merged           BOOLEAN     NOT NULL,
    lead_time_hours     DOUBLE,                -- created_at -> merged_at; null unless merged
    html_url            VARCHAR,
    partition_date      DATE        NOT NULL,  -- the staged partition (day of updated_at) the version came from
    PRIMARY KEY (repository, number)
);
