package handlers_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// smallSendBuffers accepts connections with a 4 KiB send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestODataStreamsAPageAndReleasesTheConnection: a page of 1,000 entities is streamed (chunked,
// as it is read), a small answer is sent whole with its length, and a client that stops reading
// does not hold the database connection: the page is read into the server's bounded buffer and
// the connection goes back to the pool while the client has read almost nothing.
func TestODataStreamsAPageAndReleasesTheConnection(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			srv := newServer(t, dialect, 1000)
			token, _ := authtest.Token(t, srv.store, models.RoleManager, "read", nil)
			db := srv.store.SQL()
			// The same application on a listener whose connections have a tiny send buffer, so
			// that the kernel cannot absorb the page for a client that does not read.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			app := web.New(web.Config{Store: srv.store})
			handlers.Register(app, &handlers.Handler{Store: srv.store})
			go app.Listener(smallSendBuffers{ln})
			t.Cleanup(func() { app.Shutdown() })
			slowURL := "http://" + ln.Addr().String()

			// A small answer: whole, with a Content-Length.
			req, _ := http.NewRequest("GET", srv.URL+"/v1/odata/Datastore_Phase?$top=1&$select=Name", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || res.ContentLength <= 0 || len(res.TransferEncoding) != 0 {
				t.Fatalf("small answer: %d, length %d, %v", res.StatusCode, res.ContentLength, res.TransferEncoding)
			}

			// A slow client: a tiny receive window, and it reads nothing for a while.
			dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
				return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			}}
			conn, err := dialer.Dial("tcp", strings.TrimPrefix(slowURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(60 * time.Second))
			fmt.Fprintf(conn, "GET /v1/odata/Activity_SalesOpportunity?$top=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nPrefer: odata.maxpagesize=1000\r\n\r\n", token)
			br := bufio.NewReaderSize(conn, 4096)
			res, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 || len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
				t.Fatalf("a 1,000-entity page is not streamed: %d %v length %d", res.StatusCode, res.TransferEncoding, res.ContentLength)
			}
			released := false
			for i := 0; i < 200 && !released; i++ {
				released = db.Stats().InUse == 0
				if !released {
					time.Sleep(50 * time.Millisecond)
				}
			}
			if !released {
				t.Fatalf("a client that reads slowly holds the database connection: %+v", db.Stats())
			}
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Value []map[string]any `json:"value"`
			}
			if err := json.Unmarshal(body, &page); err != nil || len(page.Value) != 1000 {
				t.Fatalf("streamed page: %v, %d entities of %d bytes", err, len(page.Value), len(body))
			}
		})
	}
}
