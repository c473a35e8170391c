package models

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, ok := range []string{"", "Website relaunch", "ünïcödé ✓", "\uFFFD is a real character", "tab\tand\nnewline"} {
		if err := CheckText("Subject", ok); err != nil {
			t.Errorf("CheckText(%q): %v", ok, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"a\x00b", "NUL character (at byte 1)"},
		{"\xff\xfe", "not valid UTF-8 text (at byte 0)"},
		{"ok \xc3", "not valid UTF-8 text (at byte 3)"},
		{"\xed\xa0\x80", "not valid UTF-8"}, // a UTF-16 surrogate: not UTF-8
	} {
		err := CheckText("Subject", c.in)
		if ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckText(%q) = %v, want EInvalid containing %q", c.in, err, c.want)
		}
		var e *Error
		if errors.As(err, &e); e == nil || e.Field != "Subject" {
			t.Errorf("CheckText(%q): field not named: %v", c.in, err)
		}
	}
}

func TestParseDateRange(t *testing.T) {
	for _, ok := range []string{"0001-01-01", "2026-03-01", "9999-12-31"} {
		if _, err := ParseDate(ok); err != nil {
			t.Errorf("ParseDate(%s): %v", ok, err)
		}
	}
	for _, bad := range []string{"0000-01-01", "0000-12-31", "10000-01-01", "2026-02-30", "2026-1-1"} {
		if d, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%s) = %v, want an error", bad, d)
		}
	}
	for key, ok := range map[string]bool{"2026-03": true, "0001-01": true, "9999-12": true, "0000-12": false, "2026-13": false, "2026-03-01": false} {
		if _, err := ParseMonthKey(key); (err == nil) != ok {
			t.Errorf("ParseMonthKey(%s): %v", key, err)
		}
	}
	// A stored date is read back as it is, even outside the range (rows written before it was kept).
	var d Date
	if err := d.Scan("0000-01-01"); err != nil || d.Year() != 0 {
		t.Errorf("Scan(0000-01-01) = %v, %v", d, err)
	}
}
