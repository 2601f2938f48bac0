-- marts.issues: one row per issue (or pull request) of every repository, at its latest known version.
-- Capture times stay in the lake (raw manifests, staged fetched_at): the mart holds only GitHub's data, so a
-- rerun of any partition leaves identical rows.
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.issues (
    repository         VARCHAR     NOT NULL,  -- owner/name
    id                 BIGINT      NOT NULL,  -- GitHub's issue id (unique across GitHub)
    node_id            VARCHAR,
    number             BIGINT      NOT NULL,  -- the #number within the repository
    title              VARCHAR     NOT NULL,
    body               VARCHAR,
    state              VARCHAR     NOT NULL,  -- open | closed
    state_reason       VARCHAR,               -- completed | not_planned | reopened | duplicate
    locked             BOOLEAN,
    is_pull_request    BOOLEAN     NOT NULL,
    user_login         VARCHAR,               -- null for deleted ("ghost") accounts
    user_id            BIGINT,
    author_association VARCHAR,
    labels             VARCHAR[],
    assignees          VARCHAR[],
    milestone_number   BIGINT,
    milestone_title    VARCHAR,
    comments           BIGINT      NOT NULL,
    reactions_total    BIGINT,
    html_url           VARCHAR,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    closed_at          TIMESTAMPTZ,
    partition_date     DATE        NOT NULL,  -- the staged partition the version came from
    PRIMARY KEY (repository, id)
);
