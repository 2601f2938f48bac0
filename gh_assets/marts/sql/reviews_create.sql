-- marts.reviews: the reviews of every pull request as of its newest capture.
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.reviews (
    repository         VARCHAR     NOT NULL,
    row_key            VARCHAR     NOT NULL,  -- owner/name/pull_number/id
    pull_number        BIGINT      NOT NULL,
    id                 BIGINT      NOT NULL,
    user_login         VARCHAR,               -- the reviewer
    user_id            BIGINT,
    state              VARCHAR     NOT NULL,  -- APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    author_association VARCHAR,
    submitted_at       TIMESTAMPTZ,
    commit_id          VARCHAR,
    body_length        UINTEGER,
    html_url           VARCHAR,
    partition_date     DATE        NOT NULL,  -- the day of the PR version the reviews were fetched with
    PRIMARY KEY (repository, id)
);
