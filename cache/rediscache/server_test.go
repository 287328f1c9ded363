package rediscache_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server process of the test's own, on a Unix socket in a temporary
// directory, stopped by its PID when the test ends.
type redisServer struct {
	tb   testing.TB
	sock string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	// exited is closed when cmd has exited.
	exited chan struct{}
}

// startRedis starts a redis-server, or skips the test when there is none on PATH (fails it
// when FLOWGLAD_REDIS_REQUIRE=1, as in CI).
func startRedis(tb testing.TB) *redisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("FLOWGLAD_REDIS_REQUIRE") == "1" {
			tb.Fatalf("redis-server is not on PATH and FLOWGLAD_REDIS_REQUIRE=1: %v", err)
		}
		tb.Skip("redis-server is not on PATH (apt-get install -y redis-server); skipping the Redis tests")
	}
	dir := tb.TempDir()
	if len(dir) > 80 { // a Unix socket path has room for about 100 bytes
		d, err := os.MkdirTemp("", "redis")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = os.RemoveAll(d) })
		dir = d
	}
	s := &redisServer{tb: tb, sock: filepath.Join(dir, "redis.sock")}
	s.start()
	tb.Cleanup(s.kill)
	return s
}

// start runs a new server process on the socket and waits until it answers PING.
func (s *redisServer) start() {
	s.tb.Helper()
	s.out = &bytes.Buffer{}
	s.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", s.sock,
		"--save", "", "--appendonly", "no")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("starting redis-server: %v", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = s.cmd.Wait(); close(exited) }()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !ping(s.sock) {
		select {
		case <-exited:
			s.tb.Fatalf("redis-server exited: %s", s.out)
		case <-deadline:
			s.kill()
			s.tb.Fatalf("redis-server did not answer PING: %s", s.out)
		case <-tick.C:
		}
	}
}

// kill stops the server by its PID and waits for it to exit. Calling it again is harmless.
func (s *redisServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// restart starts a new, empty server on the same socket.
func (s *redisServer) restart() {
	s.tb.Helper()
	s.kill()
	s.start()
}

// client returns a go-redis client of the server, closed when the test ends.
func (s *redisServer) client(contextTimeouts bool) *redis.Client {
	return unixClient(s.tb, s.sock, contextTimeouts)
}

// unixClient returns a go-redis client of a Unix socket, closed when the test ends.
func unixClient(tb testing.TB, sock string, contextTimeouts bool) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, ContextTimeoutEnabled: contextTimeouts})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// ping reports whether a Redis server answers PING on the socket.
func ping(sock string) bool {
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
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
