package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/v1/odata/Pipeline?access_token=s3cret&$top=5", "/v1/odata/Pipeline?access_token=REDACTED&$top=5"},
		{"/v1/odata/Pipeline?$top=5&ACCESS_TOKEN=s3cret", "/v1/odata/Pipeline?$top=5&ACCESS_TOKEN=REDACTED"},
		{"/x?access%5Ftoken=s3cret", "/x?access_token=REDACTED"},
		{"/x?access_token=a&access_token=b&q=%zz", "/x?access_token=REDACTED&access_token=REDACTED&q=%zz"},
		{"/x?client_secret=s3cret&password=p&_csrf=c", "/x?client_secret=REDACTED&password=REDACTED&_csrf=REDACTED"},
		{"/x?q=access_token", "/x?q=access_token"},
		{"https://user:pw@host/x?token=t", "https://user:REDACTED@host/x?token=REDACTED"},
		{"/plain", "/plain"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			u = &url.URL{Path: strings.SplitN(tc.in, "?", 2)[0], RawQuery: strings.SplitN(tc.in, "?", 2)[1]}
		}
		if got := URL(u); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !strings.Contains(tc.in, "://") {
			if got := RequestURI(tc.in); got != tc.want {
				t.Errorf("RequestURI(%q) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}
