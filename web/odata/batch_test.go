package odata

import (
	"strings"
	"testing"
)

// FuzzParseBatch: whatever the body, parsing a batch never panics and every refusal is an
// *Error with a 4xx status.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		"--b\r\nContent-Type: application/http\r\n\r\nGET Pipeline HTTP/1.1\r\n\r\n--b--\r\n",
		"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nPOST Pipeline HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{}\r\n--c--\r\n--b--\r\n",
		`{"requests":[{"id":"1","method":"GET","url":"Pipeline"}]}`,
		`{"requests":[{"id":"a","atomicityGroup":"g","method":"POST","url":"Pipeline","body":{"Name":"x"}},{"id":"b","dependsOn":["a"],"method":"GET","url":"$a"}]}`,
		"--b\r\n\r\n\r\n--b--", "--b\r\nContent-Type: application/http\r\n\r\n\r\n\r\n--b--\r\n", `{"requests":[{}]}`, "\x00\xff", strings.Repeat("--b\r\n", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, parse := range []func() ([][]*batchRequest, error){
			func() ([][]*batchRequest, error) { return parseMultipartBatch([]byte(body), "b") },
			func() ([][]*batchRequest, error) { return parseJSONBatch([]byte(body)) },
		} {
			groups, err := parse()
			if err != nil {
				if e, ok := err.(*Error); !ok || e.Status < 400 || e.Status >= 500 {
					t.Fatalf("%q: %v", body, err)
				}
				continue
			}
			for _, g := range groups {
				if len(g) == 0 || len(g) > maxBatchRequests {
					t.Fatalf("%q: a group of %d", body, len(g))
				}
			}
		}
	})
}
