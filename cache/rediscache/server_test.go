package rediscache_test

import (
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/flowglad-go/flowglad/internal/redistest"
)

// redisServer is a redis-server process of the test's own (internal/redistest), on a Unix
// socket in a temporary directory, stopped by its PID when the test ends.
type redisServer struct {
	*redistest.Server
	tb   testing.TB
	sock string
}

// startRedis starts a redis-server, or skips the test when there is none on PATH (fails it
// when FLOWGLAD_REDIS_REQUIRE=1, as in CI).
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	s := redistest.Start(tb)
	return &redisServer{Server: s, tb: tb, sock: s.Sock}
}

// kill stops the server by its PID and waits for it to exit. Calling it again is harmless.
func (s *redisServer) kill() { s.Kill() }

// restart starts a new, empty server on the same socket.
func (s *redisServer) restart() {
	s.tb.Helper()
	s.Restart()
}

// freeze stops the server process (SIGSTOP): Redis hangs, every command waits. It returns
// the function that resumes it, which the test's cleanup also calls; calling it again is
// harmless.
func (s *redisServer) freeze(t *testing.T) (resume func()) {
	t.Helper()
	if err := s.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("freezing redis-server: %v", err)
	}
	resume = sync.OnceFunc(func() { _ = s.Signal(syscall.SIGCONT) })
	t.Cleanup(resume)
	return resume
}

// client returns a go-redis client of the server, closed when the test ends.
func (s *redisServer) client(contextTimeouts bool) *redis.Client {
	return redistest.UnixClient(s.tb, s.sock, contextTimeouts)
}

// unixClient returns a go-redis client of a Unix socket, closed when the test ends.
func unixClient(tb testing.TB, sock string, contextTimeouts bool) *redis.Client {
	return redistest.UnixClient(tb, sock, contextTimeouts)
}

// proxy forwards a Unix socket to the server's, and can cut every connection through it:
// one instance's view of Redis, for a partition that leaves Redis running for the others.
type proxy struct {
	sock, target string
	ln           net.Listener

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	p := &proxy{sock: filepath.Join(filepath.Dir(target), "proxy.sock"), target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		tb.Fatal(err)
	}
	p.ln = ln
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		<-done
		p.setCut(true)
	})
	return p
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	up, err := net.Dial("unix", p.target)
	if err != nil {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
	}
	go pipe(up, c)
	go pipe(c, up)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setCut closes every connection through the proxy and refuses new ones (true), or lets
// them through again (false).
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}
