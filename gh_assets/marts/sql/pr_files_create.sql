-- marts.pr_files: the files changed by every pull request as of its newest capture.
CREATE SCHEMA IF NOT EXISTS marts;

CREATE TABLE IF NOT EXISTS marts.pr_files (
    repository        VARCHAR NOT NULL,
    row_key           VARCHAR NOT NULL,  -- owner/name/pull_number/filename
    pull_number       BIGINT  NOT NULL,
    filename          VARCHAR NOT NULL,
    status            VARCHAR NOT NULL,  -- added | removed | modified | renamed | copied | changed | unchanged
    additions         BIGINT  NOT NULL,
    deletions         BIGINT  NOT NULL,
    changes           BIGINT  NOT NULL,  -- additions + deletions
    previous_filename VARCHAR,           -- set for renamed files
    sha               VARCHAR,
    extension         VARCHAR,           -- lower-case, without the dot; null when the name has none
    top_directory     VARCHAR,           -- first path segment, '(root)' for top-level files
    partition_date    DATE    NOT NULL,
    PRIMARY KEY (repository, pull_number, filename)
);
