// Package redistest starts a redis-server of a test's own, on a Unix socket in a temporary
// directory (so no port can collide), and stops it by its PID when the test ends. Tests are
// skipped when redis-server is not on PATH, and fail then when FLOWGLAD_REDIS_REQUIRE=1 (as
// in CI, whose .ci/run installs it).
package redistest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process of the test's own.
type Server struct {
	tb testing.TB
	// Sock is the server's Unix socket.
	Sock   string
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan struct{}
}

// Start starts a redis-server without persistence, or skips the test when there is none.
func Start(tb testing.TB) *Server {
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
	s := &Server{tb: tb, Sock: filepath.Join(dir, "redis.sock")}
	s.start()
	tb.Cleanup(s.Kill)
	return s
}

// start runs a new server process on the socket and waits until it answers PING.
func (s *Server) start() {
	s.tb.Helper()
	s.out = &bytes.Buffer{}
	s.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", s.Sock,
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
	for !Ping(s.Sock) {
		select {
		case <-exited:
			s.tb.Fatalf("redis-server exited: %s", s.out)
		case <-deadline:
			s.Kill()
			s.tb.Fatalf("redis-server did not answer PING: %s", s.out)
		case <-tick.C:
		}
	}
}

// Kill stops the server by its PID and waits for it to exit. Calling it again is harmless.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts a new, empty server on the same socket.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	s.start()
}

// Signal sends sig to the server process (SIGSTOP and SIGCONT freeze and thaw it).
func (s *Server) Signal(sig os.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return os.ErrProcessDone
	}
	return s.cmd.Process.Signal(sig)
}

// Client returns a go-redis client of the server with context deadlines enabled, closed
// when the test ends.
func (s *Server) Client() *redis.Client { return UnixClient(s.tb, s.Sock, true) }

// UnixClient returns a go-redis client of a Unix socket, closed when the test ends;
// contextTimeouts is its ContextTimeoutEnabled.
func UnixClient(tb testing.TB, sock string, contextTimeouts bool) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, ContextTimeoutEnabled: contextTimeouts})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Ping reports whether a Redis server answers PING on the socket.
func Ping(sock string) bool {
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
