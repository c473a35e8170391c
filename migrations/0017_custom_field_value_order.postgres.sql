-- Migration 17: the indexes of custom field values in the order the API sorts (OData: nulls
-- first ascending, last descending, on both databases), so that a page ordered by a field is
-- read off its index instead of sorting every match.
DROP INDEX custom_field_values_text;
DROP INDEX custom_field_values_number;
DROP INDEX custom_field_values_date;
CREATE INDEX custom_field_values_text ON custom_field_values (field_id, text_value NULLS FIRST);
CREATE INDEX custom_field_values_number ON custom_field_values (field_id, number_value NULLS FIRST);
CREATE INDEX custom_field_values_date ON custom_field_values (field_id, date_value NULLS FIRST);
