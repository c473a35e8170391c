-- Migration 4: indexes of the OData API's queries (postgres).

-- The API orders NULLs first ascending (as SQLite does) and breaks ties by the key, so an index
-- in exactly that order lets $orderby=ExpectedOrderDate&$top=N (and its nextLink pages) read N
-- rows instead of sorting every opportunity.
CREATE INDEX activities_odata_expected ON activities (expected_order_date NULLS FIRST, id)
  WHERE type = 'Activity.SalesOpportunity';
-- $filter=Probability gt/ge/lt ... and its $count: an index-only scan rather than the table.
CREATE INDEX activities_odata_probability ON activities (probability)
  WHERE type = 'Activity.SalesOpportunity';
