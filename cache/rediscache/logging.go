package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// go-redis v9.22.0 has one logger for the whole process (redis.SetLogger, internal.Logger)
// and no logger per client. Its Printf gets a context, but not always the operation's: a
// failed dial is logged from a goroutine of the pool, with a context of its own, and the
// dial error among the arguments. So the one process-wide logger this package installs
// routes each message by what it carries:
//
//   - a dial error of a client NewFromURL made (its dial hook wraps dial errors in a
//     routedError naming the Cache's logger): to that logger;
//   - the context of an operation of a Cache (which carries its logger): to that logger;
//   - anything else (other clients' messages): where go-redis's default logger sends
//     them, standard error with the "redis: " prefix.

// loggerKey is the context key under which an operation of this package carries its
// logger.
type loggerKey struct{}

// withLogger returns ctx carrying l for go-redis's messages.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// routedError is a dial error of a client of this package's, marked with the logger its
// go-redis messages go to. It reads and unwraps as the error it wraps.
type routedError struct {
	err    error
	logger *slog.Logger
}

func (e *routedError) Error() string { return e.err.Error() }
func (e *routedError) Unwrap() error { return e.err }

// dialHook is a go-redis hook that marks the client's dial errors with a logger, and
// keeps the last one: go-redis retries a failed dial until the context ends, and then
// reports only the context's error.
type dialHook struct {
	logger *slog.Logger
	last   atomic.Pointer[routedError]
}

func (h *dialHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			re := &routedError{err: err, logger: h.logger}
			h.last.Store(re)
			return nil, re
		}
		return conn, nil
	}
}

func (*dialHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (*dialHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// routingLogger is the go-redis logger this package installs for the process.
type routingLogger struct {
	// fallback receives the messages that concern no Cache, formatted as go-redis's own
	// default logger formats them.
	fallback *log.Logger
}

// Printf implements go-redis's logging interface.
func (l routingLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if lg := route(ctx, v); lg != nil {
		if ctx == nil {
			ctx = context.Background()
		}
		lg.LogAttrs(ctx, slog.LevelWarn, "rediscache: go-redis: "+msg)
		return
	}
	// Depth 2 names go-redis's caller, as its own default logger does.
	_ = l.fallback.Output(2, msg)
}

// route returns the logger a go-redis message goes to, or nil for the fallback.
func route(ctx context.Context, args []any) *slog.Logger {
	for _, a := range args {
		var re *routedError
		if err, ok := a.(error); ok && errors.As(err, &re) {
			return re.logger
		}
	}
	if ctx != nil {
		if lg, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
			return lg
		}
	}
	return nil
}

// The logger is installed when the package is initialised, before main runs: no go-redis
// client is running yet (redis.SetLogger is not safe while one logs), and a program that
// calls redis.SetLogger itself, in main or later, replaces it and gets every message.
func init() {
	redis.SetLogger(routingLogger{fallback: log.New(os.Stderr, "redis: ", log.LstdFlags|log.Lshortfile)})
}
