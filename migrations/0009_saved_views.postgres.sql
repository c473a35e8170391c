-- Migration 9: saved views, per user: a named board or forecast-board filter ("My deals closing
-- this quarter"), kept as the URL query it is.
CREATE TABLE saved_views (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  page text NOT NULL CHECK (page IN ('board', 'forecast-board')),
  name text NOT NULL,
  query text NOT NULL,
  creation_date timestamptz NOT NULL
);
CREATE UNIQUE INDEX saved_views_user_page_name ON saved_views (user_id, page, name);
