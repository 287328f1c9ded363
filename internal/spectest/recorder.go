package spectest

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
)

// recorder buffers a response so it can be validated before it is sent. It
// passes Hijack through, so a handler can still simulate a dropped
// connection.
type recorder struct {
	w        http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(p)
}

// Flush is a no-op: nothing may reach the client before validation.
func (rec *recorder) Flush() {}

// Hijack hands over the underlying connection; the buffered response is
// then discarded.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := rec.w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("spectest: the underlying ResponseWriter cannot hijack")
	}
	rec.hijacked = true
	return hj.Hijack()
}

// flushTo writes the buffered response to the real writer.
func (rec *recorder) flushTo() {
	dst := rec.w.Header()
	for k, v := range rec.header {
		dst[k] = v
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	rec.w.WriteHeader(status)
	_, _ = rec.w.Write(rec.body.Bytes())
}
