package web

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// HTTPHandler serves a net/http handler from Fiber, streaming its answer (Fiber's own adaptor
// buffers the whole body before sending a byte).
//
// The handler runs in its own goroutine, with the request's context being Fiber's user context
// (the caller's identity, set by the middleware) and cancelled when the client goes away. An
// answer of up to streamAfter bytes is sent as usual, with a Content-Length. A longer one, or one
// the handler flushes, is streamed (chunked): its status and headers go out, then its body as
// the handler writes it.
//
// Between the handler and the client sits a buffer of up to maxBuffered bytes. A client that
// reads as fast as the handler writes gets the body as it is produced, so memory stays small.
// A client that reads slowly fills the buffer instead of holding up the handler: a whole page of
// the OData API (at most 1,000 entities, about 1-2 MiB) is read from the database into it at the
// database's speed, and the rows cursor and its connection are released at once, rather than
// being held for as long as the client takes. Only an answer larger than the buffer waits for
// the client, with bounded memory.
func HTTPHandler(h http.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var r http.Request
		if err := fasthttpadaptor.ConvertRequest(c.Context(), &r, true); err != nil {
			return fiber.NewError(fiber.StatusBadRequest, "The request is malformed.")
		}
		// The body is copied: the handler may still be running when Fiber has moved on.
		r.Body = io.NopCloser(bytes.NewReader(append([]byte(nil), c.Body()...)))
		ctx, cancel := context.WithCancel(c.UserContext())
		w := &streamWriter{header: http.Header{}, ready: make(chan struct{}), done: make(chan struct{}), head: c.Method() == fiber.MethodHead}
		w.cond = sync.NewCond(&w.mu)
		go func() {
			defer close(w.done)
			defer w.finish()
			defer func() {
				if v := recover(); v != nil && v != http.ErrAbortHandler {
					slog.Error("http handler panic", "path", r.URL.Path, "panic", v)
					w.fail()
				}
			}()
			h.ServeHTTP(w, r.WithContext(ctx))
		}()
		<-w.ready

		w.mu.Lock()
		status, streaming := w.status, w.streaming
		if status == 0 {
			status = http.StatusOK
		}
		c.Status(status)
		for k, vs := range w.header {
			for i, v := range vs {
				if i == 0 {
					c.Set(k, v)
				} else {
					c.Response().Header.Add(k, v)
				}
			}
		}
		if !streaming {
			body := w.body()
			w.mu.Unlock()
			cancel()
			if w.failed {
				return fiber.NewError(fiber.StatusInternalServerError, "Something went wrong on our side.")
			}
			return c.Send(body)
		}
		w.mu.Unlock()
		c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
			defer cancel()
			if err := w.drain(bw); err != nil {
				cancel() // the client went away: stop the handler's work
			}
			<-w.done // the handler may use the request's memory until it returns
		})
		return nil
	}
}

const (
	// streamAfter is the size beyond which an answer is streamed rather than sent whole.
	streamAfter = 64 << 10
	// maxBuffered bounds what is held for a slow client (see HTTPHandler).
	maxBuffered = 4 << 20
)

// streamWriter is the http.ResponseWriter of HTTPHandler: the handler writes into a bounded
// queue of chunks that the connection drains.
type streamWriter struct {
	header http.Header
	head   bool // a HEAD request: the body is dropped

	mu        sync.Mutex
	cond      *sync.Cond
	status    int
	chunks    [][]byte
	queued    int
	streaming bool
	finished  bool
	failed    bool
	broken    bool // the client is gone: further writes fail
	readyOnce sync.Once
	ready     chan struct{} // closed when the answer is complete or starts streaming
	done      chan struct{} // closed when the handler has returned
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = status
	}
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.broken {
		return 0, io.ErrClosedPipe
	}
	if w.head {
		return len(p), nil
	}
	for w.streaming && w.queued >= maxBuffered && !w.broken {
		w.cond.Wait() // the client is slower than the buffer is big
	}
	if w.broken {
		return 0, io.ErrClosedPipe
	}
	w.chunks = append(w.chunks, append([]byte(nil), p...))
	w.queued += len(p)
	if !w.streaming && w.queued > streamAfter {
		w.startStreaming()
	}
	w.cond.Broadcast()
	return len(p), nil
}

// Flush starts streaming: what was written goes out now.
func (w *streamWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.streaming && !w.finished && !w.head {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.startStreaming()
	}
}

func (w *streamWriter) startStreaming() {
	w.streaming = true
	w.readyOnce.Do(func() { close(w.ready) })
}

func (w *streamWriter) finish() {
	w.mu.Lock()
	w.finished = true
	w.cond.Broadcast()
	w.mu.Unlock()
	w.readyOnce.Do(func() { close(w.ready) })
}

// fail marks a handler that panicked before answering: a 500 if nothing was sent yet.
func (w *streamWriter) fail() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.streaming {
		w.failed = true
		w.chunks, w.queued = nil, 0
	}
}

// body is the whole answer of a handler that did not stream (w.mu held).
func (w *streamWriter) body() []byte {
	if len(w.chunks) == 1 {
		return w.chunks[0]
	}
	out := make([]byte, 0, w.queued)
	for _, c := range w.chunks {
		out = append(out, c...)
	}
	return out
}

// drain writes the queued chunks to the connection as they come, flushing each batch, until the
// handler has finished. A write error (the client went away) stops it and fails the handler's
// further writes.
func (w *streamWriter) drain(bw *bufio.Writer) error {
	for {
		w.mu.Lock()
		for len(w.chunks) == 0 && !w.finished {
			w.cond.Wait()
		}
		chunks, finished := w.chunks, w.finished
		w.chunks, w.queued = nil, 0
		w.cond.Broadcast() // room again for a waiting writer
		w.mu.Unlock()
		for _, c := range chunks {
			if _, err := bw.Write(c); err != nil {
				w.breakPipe()
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			w.breakPipe()
			return err
		}
		if finished && len(chunks) == 0 {
			return nil
		}
	}
}

func (w *streamWriter) breakPipe() {
	w.mu.Lock()
	w.broken = true
	w.cond.Broadcast()
	w.mu.Unlock()
}
