package middleware_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMeterHijacked: a handler that hijacks the connection and writes its own answer on it
// (a failed upgrade's 500, a 101 Switching Protocols) is metered only when it said what to
// record: its status is not known. The writer it gets is an http.Hijacker (older
// WebSocket libraries type-assert it), also through http.ResponseController.
func TestMeterHijacked(t *testing.T) {
	tests := []struct {
		name       string
		controller bool   // hijack through http.NewResponseController
		setUsage   int64  // 0: SetUsage not called
		answer     string // written on the hijacked connection
		events     int
	}{
		{"a 500 on the connection", false, 0, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 0},
		{"a 101 without SetUsage", false, 0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0},
		{"a 101 with SetUsage", false, 3, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1},
		{"a 500 through ResponseController", true, 0, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 0},
		{"a 101 through ResponseController with SetUsage", true, 2, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			done := make(chan struct{})
			h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.setUsage > 0 {
					middleware.SetUsage(r.Context(), tc.setUsage)
				}
				var conn net.Conn
				var rw *bufio.ReadWriter
				var err error
				if tc.controller {
					conn, rw, err = http.NewResponseController(w).Hijack()
				} else {
					hj, isHijacker := w.(http.Hijacker)
					if !assert.True(t, isHijacker, "the writer is an http.Hijacker on HTTP/1") {
						return
					}
					conn, rw, err = hj.Hijack()
				}
				if !assert.NoError(t, err) {
					return
				}
				defer conn.Close()
				_, _ = rw.WriteString(tc.answer)
				_ = rw.Flush()
			}))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done) // after MeterUsage has recorded, or not
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			deadline, _ := ctx.Deadline()
			require.NoError(t, conn.SetDeadline(deadline))
			_, err = io.WriteString(conn, "POST /api/generate HTTP/1.1\r\nHost: "+srv.Listener.Addr().String()+
				"\r\nX-User: alice\r\nContent-Length: 0\r\n\r\n")
			require.NoError(t, err)
			status, err := bufio.NewReader(conn).ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, strings.SplitN(tc.answer, "\r\n", 2)[0]+"\r\n", status, "the handler's own answer")

			select {
			case <-done:
			case <-ctx.Done():
				t.Fatal("the handler did not return")
			}
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			require.Len(t, evs, tc.events)
			if tc.events == 1 {
				assert.Equal(t, tc.setUsage, evs[0].Amount)
			}
		})
	}
}

// TestMeterWriterOnHTTP2: an HTTP/2 server's writer cannot hijack, so MeterUsage's is no
// http.Hijacker there (a handler would take a Hijack that always fails for a working
// one); it still flushes.
func TestMeterWriterOnHTTP2(t *testing.T) {
	e := newEnv(t)
	var isHijacker, isFlusher bool
	var hijackErr error
	h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, isHijacker = w.(http.Hijacker)
		_, isFlusher = w.(http.Flusher)
		_, _, hijackErr = http.NewResponseController(w).Hijack()
		_, _ = io.WriteString(w, "streamed")
		w.(http.Flusher).Flush()
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/generate", nil)
	require.NoError(t, err)
	req.Header.Set("X-User", "alice")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor, "served over HTTP/2")
	assert.Equal(t, "streamed", string(body))
	assert.False(t, isHijacker, "no Hijacker over HTTP/2")
	assert.True(t, isFlusher)
	assert.ErrorIs(t, hijackErr, http.ErrNotSupported)
	assert.Len(t, e.events(flowgladapitest.DemoCustomerAlice), 1, "a 200 is metered")
}

// TestMeterWriterHidesNoHijacker: without a Hijacker underneath (httptest's recorder), the
// writer is none either.
func TestMeterWriterHidesNoHijacker(t *testing.T) {
	e := newEnv(t)
	var isHijacker bool
	h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, isHijacker = w.(http.Hijacker)
	}))
	e.serve(h, "alice")
	assert.False(t, isHijacker)
}

// TestMeterSwitchingProtocols: a 101 Switching Protocols written with WriteHeader is the
// request's final status in net/http (not an informational one), and no 2xx: as with a
// hijacked connection, what follows it has no status, so the request is metered only when
// the handler said what to record. An informational 1xx before a 200 is still a 200.
func TestMeterSwitchingProtocols(t *testing.T) {
	tests := []struct {
		name     string
		status   []int
		setUsage int64
		events   int
	}{
		{"a 101 without SetUsage", []int{http.StatusSwitchingProtocols}, 0, 0},
		{"a 101 with SetUsage", []int{http.StatusSwitchingProtocols}, 4, 1},
		{"a 103 then a 200", []int{http.StatusEarlyHints, http.StatusOK}, 0, 1},
		{"a 103 then a 500", []int{http.StatusEarlyHints, http.StatusInternalServerError}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			h := middleware.MeterUsage(e.h, "api-calls")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.setUsage > 0 {
					middleware.SetUsage(r.Context(), tc.setUsage)
				}
				for _, s := range tc.status {
					w.WriteHeader(s)
				}
			}))
			e.serve(h, "alice")
			evs := e.events(flowgladapitest.DemoCustomerAlice)
			require.Len(t, evs, tc.events)
			if tc.events == 1 && tc.setUsage > 0 {
				assert.Equal(t, tc.setUsage, evs[0].Amount)
			}
		})
	}
}
