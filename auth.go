package flowglad

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnauthenticated is what an [Authenticator] returns (or wraps) when the request carries no
// valid session. The handler answers 401 unauthenticated; the hybrid
// pricing-models/retrieve action serves the default pricing model instead.
var ErrUnauthenticated = errors.New("flowglad: unauthenticated")

// Customer is a customer of your application, as the Service and the handler's
// [Authenticator] name it.
type Customer struct {
	// ExternalID is the customer's id in your application: a user id when each user pays,
	// an organization id when organizations do. It becomes the Flowglad customer's
	// externalId; it is never Flowglad's own customer id. It is required: not empty or
	// blank, not "." or "..", at most 255 characters.
	ExternalID string
	// Name is the customer's name, used when the Flowglad customer is created. It may be
	// empty.
	Name string
	// Email is the customer's email address, used only when the Flowglad customer is
	// created. It may be empty when Flowglad already knows the customer, or when
	// Config.LookupCustomer supplies it. It is checked only then: an invalid one makes
	// that creation fail (a 500 invalid_customer, the reason logged), never an operation
	// on a customer Flowglad already has.
	Email string
}

// validate checks a Customer before it is used: its external id. The email is checked
// only when a customer is created (Service.profile). The error names the faulty field but
// never repeats its value, which may be personal data.
func (c Customer) validate() error {
	var problems []string
	switch id := c.ExternalID; {
	case blank(id):
		problems = append(problems, "ExternalID is empty")
	case isDotSegment(id):
		problems = append(problems, `ExternalID must not be "." or ".."`)
	case utf8.RuneCountInString(id) > maxIDLength:
		problems = append(problems, "ExternalID is longer than "+strconv.Itoa(maxIDLength)+" characters")
	}
	if len(problems) == 0 {
		return nil
	}
	return &Error{
		Status:  500,
		Code:    CodeInvalidCustomer,
		Message: "invalid customer: " + strings.Join(problems, ", "),
	}
}

// An Authenticator derives the signed-in customer from a request, using the host
// application's own sessions (a cookie, a bearer token, a context value set by earlier
// middleware).
//
// Authenticate is called once per request, concurrently from many goroutines. It must not
// read or close r.Body and must not modify r. It returns [ErrUnauthenticated] (or an error
// wrapping it) when there is no session; any other error is a failure of the application
// (a database outage, say) and makes the handler answer 500 and log it. A panic is recovered
// and treated like such an error.
type Authenticator interface {
	Authenticate(r *http.Request) (Customer, error)
}

// AuthenticatorFunc adapts an ordinary function to the [Authenticator] interface.
type AuthenticatorFunc func(r *http.Request) (Customer, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Customer, error) { return f(r) }

// authenticate calls the adapter, turning a panic into an error so one broken session lookup
// cannot take the server down.
func authenticate(a Authenticator, r *http.Request) (c Customer, err error) {
	defer recoverInto(&err)
	return a.Authenticate(r)
}

// recoverInto, deferred, turns a panic into a *panicError in *err. http.ErrAbortHandler is
// re-panicked: it is net/http's way to abort a response on purpose.
func recoverInto(err *error) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		*err = &panicError{value: p, stack: debug.Stack()}
	}
}

// panicError is a recovered panic; the stack goes to the log, never to the browser.
type panicError struct {
	value any
	stack []byte
}

// Error names the panic value's type, not its text, which may hold whatever the panicking
// code had at hand (an email, a session token). The runtime's own errors (a nil map, an
// index out of range) are told in full: the runtime writes their text, from types and
// numbers only.
func (e *panicError) Error() string {
	if re, ok := e.value.(runtime.Error); ok {
		return "flowglad: recovered panic: " + re.Error()
	}
	return fmt.Sprintf("flowglad: recovered panic of type %T", e.value)
}

// authFailure is an authenticator's error, or its recovered panic, on its way to a log line
// or a caller of Handler.Authenticate. Its text names the error's type, never its message:
// an authenticator's message may quote an email, a user name or a token, and there is no
// customer yet whose data could be redacted. The error itself stays reachable with
// errors.Is and errors.As.
type authFailure struct{ err error }

func (e *authFailure) Error() string { return "authenticator failed: " + describeAuthError(e.err) }

func (e *authFailure) Unwrap() error { return e.err }

// describeAuthError tells what an authenticator's error is without its text: the panic as
// panicError says, our sentinels and the context's errors by name (their text is fixed),
// anything else by type, saying which of those it wraps.
func describeAuthError(err error) string {
	var pe *panicError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	for _, known := range []error{ErrUnauthenticated, context.Canceled, context.DeadlineExceeded} {
		switch {
		case err == known:
			return known.Error()
		case errors.Is(err, known):
			return fmt.Sprintf("%T wrapping %q", err, known.Error())
		}
	}
	return fmt.Sprintf("%T", err)
}
