"""ML feature tables: point-in-time correct contributor, issue, milestone and repo features from the marts."""
