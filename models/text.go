package models

import "unicode/utf8"

// CheckText refuses text that the two databases would not store alike: invalid UTF-8
// (PostgreSQL refuses it, SQLite keeps the bytes) and NUL (PostgreSQL's text cannot hold it).
// Requests are checked at the door (web.RefuseBadText, the OData query decoder); this is the
// domain's own defence for whatever else reaches a Store method, so that such input is a field
// error, never a database error.
func CheckText(field, s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return FieldError(field, "%s is not valid UTF-8 text (at byte %d).", field, i)
		case r == 0:
			return FieldError(field, "%s contains a NUL character (at byte %d).", field, i)
		}
		i += n
	}
	return nil
}
