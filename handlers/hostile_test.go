package handlers_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"phaseboard/models/storetest"
)

// hostileURLs are requests in the style of the OData ABNF test corpus and of a scanner: broken
// percent-encoding, invalid UTF-8 and NUL, injection, oversized and deeply nested expressions,
// dates outside the range, forged tokens. They are sent raw (as a broken client or an attacker
// sends them, bypassing Go's URL checks). {alpha} is a real opportunity's key.
var hostileURLs = []string{
	// OData: text that PostgreSQL refuses.
	"/v1/odata/Activity_SalesOpportunity?$filter=Subject%20eq%20'%FF%FE'",
	"/v1/odata/Activity_SalesOpportunity?$filter=Subject%20eq%20'a%00b'",
	"/v1/odata/Activity_SalesOpportunity?$filter=contains(Subject,'%C3')",
	"/v1/odata/Activity_SalesOpportunity?$filter=startswith(Subject,'%00')",
	"/v1/odata/Activity_SalesOpportunity?$apply=filter(Subject%20eq%20'%00')/aggregate($count%20as%20N)",
	"/v1/odata/Activity_SalesOpportunity?$apply=groupby((Subject))&$filter=Subject%20eq%20'%FF'",
	"/v1/odata/Activity_SalesOpportunity?$expand=ProductLines($filter=Description%20eq%20'a%00b')",
	"/v1/odata/Activity_SalesOpportunity?$expand=Phase($expand=Pipeline($filter=Name%20eq%20'%FF'))",
	"/v1/odata/Activity_SalesOpportunity?$orderby=Subject%00",
	"/v1/odata/Activity_SalesOpportunity?$select=Subject%FF",
	"/v1/odata/Activity_SalesOpportunity?$search=%00",
	"/v1/odata/Activity_SalesOpportunity?$format=%00",
	"/v1/odata/Activity_SalesOpportunity?$skiptoken=%FF",
	"/v1/odata/Activity_SalesOpportunity?$skiptoken=eyJ2IjpbImFcdTAwMDBiIiwieCJdLCJzIjoieCJ9",
	"/v1/odata/Activity_SalesOpportunity?%FF=1",
	"/v1/odata/Activity_SalesOpportunity?$filter%00=true",
	"/v1/odata/Activity_SalesOpportunity('%00')",
	"/v1/odata/Activity_SalesOpportunity(ID=%FF)",
	"/v1/odata/Activity_SalesOpportunity%00",
	"/v1/odata/%FF%FE",
	"/v1/odata/Activity_SalesOpportunity({alpha})/Subject/$value%00",
	"/v1/odata/$metadata?$format=%FF",
	"/v1/odata/Activity_SalesOpportunity?access_token=%00",
	// Dates outside the range.
	"/v1/odata/Activity_SalesOpportunity?$filter=ExpectedOrderDate%20eq%200000-01-01",
	"/v1/odata/Activity_SalesOpportunity?$filter=CreationDate%20gt%200000-12-31T23:59:59Z",
	"/v1/odata/Activity_SalesOpportunity?$filter=ExpectedOrderDate%20eq%2099999-01-01",
	"/v1/odata/Activity_SalesOpportunity?$apply=filter(ExpectedOrderDate%20eq%200000-01-01)/aggregate($count%20as%20N)",
	// Malformed percent-encoding and syntax.
	"/v1/odata/Activity_SalesOpportunity?$filter=%",
	"/v1/odata/Activity_SalesOpportunity?$filter=%zz",
	"/v1/odata/Activity_SalesOpportunity?%",
	"/v1/odata/Activity_SalesOpportunity?$filter=Subject%20eq%20'%E2%82'",
	"/v1/odata/Activity_SalesOpportunity(",
	"/v1/odata/Activity_SalesOpportunity()",
	"/v1/odata/Activity_SalesOpportunity(((",
	"/v1/odata/Activity_SalesOpportunity({alpha})/Phase/Pipeline/Phases/$count/$value",
	"/v1/odata/Activity_SalesOpportunity?$expand=Phase($expand=Pipeline($expand=Phases($expand=Pipeline)))",
	"/v1/odata/Activity_SalesOpportunity?$top=99999999999999999999&$skip=-1",
	"/v1/odata/..%2F..%2Fetc%2Fpasswd",
	"/v1/odata/Activity_SalesOpportunity?$filter=" + strings.Repeat("x", 20000),
	// Injection.
	"/v1/odata/Activity_SalesOpportunity?$filter=Subject%20eq%20'x''%20or%201=1%20--'",
	"/v1/odata/Activity_SalesOpportunity?$orderby=Subject;DROP%20TABLE%20activities",
	"/v1/odata/Activity_SalesOpportunity?$select=ID,(SELECT%201)",
	"/v1/odata/Activity_SalesOpportunity?$apply=groupby((Subject),aggregate(Amount%20with%20sum%20as%20x%22%3B--))",
	// Oversized numbers and deep nesting (the database's own limits).
	"/v1/odata/Activity_SalesOpportunity?$filter=Amount%20gt%201e400",
	"/v1/odata/Activity_SalesOpportunity?$filter=Number%20eq%20'x'%20and%20Amount%20mul%201e308%20mul%2010%20gt%200",
	"/v1/odata/Activity_SalesOpportunity?$filter=substring(Subject,99999999999)%20eq%20''",
	"/v1/odata/Activity_SalesOpportunity?$filter=" + strings.Repeat("not%20", 99) + "true",
	"/v1/odata/Activity_SalesOpportunity?$filter=" + strings.Repeat("(", 150) + "true" + strings.Repeat(")", 150),
	"/v1/odata/Activity_SalesOpportunity?$filter=" + strings.Repeat("-", 99) + "1%20eq%201",
	"/v1/odata/Activity_SalesOpportunity?$filter=" + strings.Repeat("IsClosed%20or%20(", 40) + "true" + strings.Repeat(")", 40),
	// The board, the forecast and the login.
	"/board?q=a%00b",
	"/board?q=%FF%FE",
	"/board?pipeline=%00",
	"/board?rep=%FF",
	"/board?q=" + strings.Repeat("%C3%A9", 150),
	"/board/columns/%00/cards",
	"/board/opportunities/%FF/edit",
	"/board/opportunities/{alpha}/edit?q=%00",
	"/forecast?from=0000-01&to=0000-12",
	"/forecast?from=%00",
	"/forecast?from=0001-01&to=9999-12",
	"/forecast/board?from=0000-01",
	"/forecast.csv?from=%FF",
	"/forecast/board/months/0000-01/cards",
	"/login?next=%00",
	// The OAuth authorization endpoint.
	"/oauth2/auth?client_id=%00&redirect_uri=%FF",
	"/oauth2/auth?response_type=code&client_id={alpha}&redirect_uri=https%3A%2F%2Fx&state=" + strings.Repeat("%FF", 3000),
	"/oauth2/auth?client_id=00000000-0000-0000-0000-000000000000&redirect_uri=javascript:alert(1)",
}

// TestHostileURLsNeverFail: none of hostileURLs gets a 5xx, on either database.
func TestHostileURLsNeverFail(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newODataEnv(t, dialect)
			for _, u := range hostileURLs {
				status := rawGet(t, e, e.expand(u))
				if testing.Verbose() {
					t.Logf("%d %.120s", status, u)
				}
				if status >= 500 {
					t.Errorf("GET %.200s: %d", u, status)
				}
			}
		})
	}
}

// rawGet sends GET target byte for byte with the API token and a manager's session, and returns
// the status.
func rawGet(t *testing.T, e *odataEnv, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	auth := "Authorization: Bearer " + e.token + "\r\n"
	if !strings.HasPrefix(target, "/v1/") {
		auth = ""
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n%sCookie: %s=%s\r\nConnection: close\r\n\r\n", target, auth, e.srv.session.Name, e.srv.session.Value)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %.200s: %v", target, err)
	}
	res.Body.Close()
	return res.StatusCode
}
