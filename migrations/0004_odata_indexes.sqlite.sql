-- Migration 4: indexes of the OData API's queries (sqlite).

-- The API orders NULLs first ascending (SQLite's own order) and breaks ties by the key, so this
-- index lets $orderby=ExpectedOrderDate&$top=N read N rows instead of sorting every opportunity.
CREATE INDEX activities_odata_expected ON activities (expected_order_date, id)
  WHERE type = 'Activity.SalesOpportunity';
-- $filter=Probability gt/ge/lt ... and its $count.
CREATE INDEX activities_odata_probability ON activities (probability)
  WHERE type = 'Activity.SalesOpportunity';
