package flowglad

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Error is a failure that knows how it reaches a browser: an HTTP status, a snake_case code
// and a message that is safe to show. The handler, the middleware and [WriteError] turn it
// into the {"error": {...}} envelope; Go callers inspect it with errors.As, or branch on
// Code.
//
// Validation failures are Errors with Code "invalid_body" and the problems in
// Details["issues"] ([]Issue), whether the input came from a browser or from Go: an issue's
// Path is the JSON name of the field (successUrl for CheckoutSessionParams.SuccessURL).
//
// Errors that come from Flowglad itself are returned as *flowgladapi.Error (wrapped), not as
// *Error; [WriteError] maps those too.
type Error struct {
	// Status is the HTTP status the handler answers with.
	Status int
	// Code is a stable snake_case code, such as "invalid_body" or "forbidden".
	Code string
	// Message is one sentence, safe to show to the end user.
	Message string
	// Details are extra members of the error's "json" object, such as "issues".
	Details map[string]any
	// Err is the underlying cause, for logs only; it never reaches the browser.
	Err error
	// RetryAfter, when positive, is how long the client should wait before asking again:
	// WriteError sends it as the Retry-After header (in whole seconds, rounded up).
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("flowglad: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("flowglad: %s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Issue is one problem with a request body, reported in error.json.issues.
type Issue struct {
	// Path is the JSON path of the offending field, such as "successUrl" or
	// "subscriptionItems[1].quantity"; empty for the body as a whole.
	Path string `json:"path"`
	// Message says what is wrong, without repeating the value.
	Message string `json:"message"`
}

// Codes of the errors the route, the middleware and WriteError answer (Error.Code, the
// envelope's error.code). The package documentation lists them by status.
const (
	// CodeUnauthenticated: 401, no session.
	CodeUnauthenticated = "unauthenticated"
	// CodeInvalidBody: 400, the input has problems, listed in Details["issues"].
	CodeInvalidBody = "invalid_body"
	// CodeForbidden: 403, an id that is not the customer's (or does not exist).
	CodeForbidden = "forbidden"
	// CodeNoActiveSubscription: 400, the action needs a current subscription.
	CodeNoActiveSubscription = "no_active_subscription"
	// CodeSubscriptionIDRequired: 400, several current subscriptions and none named.
	CodeSubscriptionIDRequired = "subscription_id_required"
	// CodeAlreadyCanceled: 409, cancelling a canceled subscription.
	CodeAlreadyCanceled = "already_canceled"
	// CodeInvalidCustomer: 500, the Customer cannot be used: no valid external id, or no
	// valid email when the Flowglad customer must be created (the email is checked only
	// then). A server bug, never the end user's: the answer's message is the generic
	// "internal error" with the request id; the reason and the fix are logged, and are in
	// the *Error's Message for Go callers.
	CodeInvalidCustomer = "invalid_customer"
	// CodeFeatureRequired: 403, the customer's plan lacks a feature (middleware).
	CodeFeatureRequired = "feature_required"
	// CodeUsageBalanceExhausted: 402, a usage meter's balance is below what the work
	// needs (middleware).
	CodeUsageBalanceExhausted = "usage_balance_exhausted"
	// CodeBillingUnavailable: 503, billing could not be read to decide (middleware).
	CodeBillingUnavailable = "billing_unavailable"

	// CodeInvalidJSON: 400, the body is not one JSON object (or could not be read).
	CodeInvalidJSON = "invalid_json"
	// CodeCrossOriginForbidden: 403, a browser request from an origin that is not
	// trusted (Config.TrustedOrigins).
	CodeCrossOriginForbidden = "cross_origin_forbidden"
	// CodeUnknownAction: 404, the path names no action.
	CodeUnknownAction = "unknown_action"
	// CodeNotFound: 404, Flowglad does not know what the action names.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: 405, the route takes POST only.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeBodyTooLarge: 413, the body exceeds Config.MaxBodyBytes.
	CodeBodyTooLarge = "body_too_large"
	// CodeUnsupportedMediaType: 415, the body is not application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeFlowgladRejected: Flowglad refused the request (its 400, 409 or 422 status
	// kept); json.flowgladCode holds Flowglad's own code.
	CodeFlowgladRejected = "flowglad_rejected"
	// CodeInternalError: 500, a failure of the application or of this library (an
	// authenticator's error or panic); the detail is logged.
	CodeInternalError = "internal_error"
	// CodeNotImplemented: 501, subscriptions/create, which browsers may not call.
	CodeNotImplemented = "not_implemented"
	// CodeFlowgladUnavailable: 502, Flowglad failed or could not be reached.
	CodeFlowgladUnavailable = "flowglad_unavailable"
	// CodeFlowgladAuthFailed: 502, Flowglad refused the server's API key (see
	// Service.Check).
	CodeFlowgladAuthFailed = "flowglad_auth_failed"
	// CodeFlowgladBusy: 503 with Retry-After, Flowglad is rate limiting the key.
	CodeFlowgladBusy = "flowglad_busy"
	// CodeCanceled: 503, the browser went away before the answer (nobody reads it).
	CodeCanceled = "canceled"
	// CodeFlowgladTimeout: 504, Flowglad did not answer in time (Config.Timeout).
	CodeFlowgladTimeout = "flowglad_timeout"
	// CodeError is the code WriteError gives an *Error built without one.
	CodeError = "error"
)

// Bounds of what an invalid_body answer echoes, so that its size does not grow with the
// request: a body of a million bad items gets the first few and a count.
const (
	// MaxIssues is how many issues an invalid_body answer lists; the rest are counted in
	// error.json.omittedIssues.
	MaxIssues = 20
	// maxEcho caps the characters of a value (a path, an id) repeated in an answer.
	maxEcho = 100
)

// issueList collects the issues of one body, keeping the first MaxIssues.
type issueList struct {
	items   []Issue
	omitted int
}

func (l *issueList) add(path, msg string) {
	if len(l.items) >= MaxIssues {
		l.omitted++
		return
	}
	l.items = append(l.items, Issue{Path: clip(path), Message: msg})
}

func (l *issueList) len() int { return len(l.items) + l.omitted }

// within reports whether an issue was recorded inside the field at path (at path+"." or
// path+"[" something).
func (l *issueList) within(path string) bool {
	for _, is := range l.items {
		if strings.HasPrefix(is.Path, path+".") || strings.HasPrefix(is.Path, path+"[") {
			return true
		}
	}
	return false
}

// has reports whether an issue was recorded at path or at a field containing it (among
// those listed): a faulty subscriptionItems[1] covers subscriptionItems[1].quantity.
func (l *issueList) has(path string) bool {
	for _, is := range l.items {
		if is.Path == path || is.Path == "" ||
			strings.HasPrefix(path, is.Path) && (path[len(is.Path)] == '.' || path[len(is.Path)] == '[') {
			return true
		}
	}
	return false
}

// rule records a problem found by a validation rule, unless the field already has one (the
// browser decoder found it first, with a more precise message).
func (l *issueList) rule(path, msg string) {
	if !l.has(path) {
		l.add(path, msg)
	}
}

// err reports the issues collected, or nil.
func (l *issueList) err() error {
	if l.len() == 0 {
		return nil
	}
	return invalidBodyOmitted(l.items, l.omitted)
}

// invalidBody reports every issue at once as a 400.
func invalidBody(issues []Issue) *Error {
	return invalidBodyOmitted(issues, 0)
}

// invalidBodyOmitted reports issues (and how many more were found but not listed) as a 400.
// The list is sent once, in json.issues; the message names the first issue and counts the
// others, so the answer stays small however many there are.
func invalidBodyOmitted(issues []Issue, omitted int) *Error {
	sort.SliceStable(issues, func(i, j int) bool { return issues[i].Path < issues[j].Path })
	msg := "invalid request body"
	if len(issues) > 0 {
		first := issues[0].Message
		if issues[0].Path != "" {
			first = issues[0].Path + ": " + first
		}
		msg += ": " + first
		switch more := len(issues) - 1 + omitted; more {
		case 0:
		case 1:
			msg += " (and 1 more issue)"
		default:
			msg += " (and " + strconv.Itoa(more) + " more issues)"
		}
	}
	details := map[string]any{"issues": issues}
	if omitted > 0 {
		details["omittedIssues"] = omitted
	}
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeInvalidBody,
		Message: msg,
		Details: details,
	}
}

// clip cuts s to maxEcho characters (runes), marking the cut, so a hostile value repeated
// in an answer or a log line stays small.
func clip(s string) string { return cutRunes(s, maxEcho) }

// cutRunes cuts s to at most n runes, marking the cut.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "..."
		}
		i++
	}
	return s
}

// errForbidden is the one answer for an id that is not the customer's or does not exist, so
// ids cannot be probed.
func errForbidden(what string) *Error {
	return &Error{
		Status:  http.StatusForbidden,
		Code:    CodeForbidden,
		Message: clip(what) + " does not belong to the signed-in customer",
	}
}

// errFromBilling marks a refusal decided from billing alone (which subscriptions are
// current), which billing read earlier may explain: withFreshBilling reads again before it
// stands.
var errFromBilling = errors.New("decided from the customer's current subscriptions in billing")

func errNoActiveSubscription() *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeNoActiveSubscription,
		Message: "the customer has no active subscription",
		Err:     errFromBilling,
	}
}

func errSubscriptionIDRequired() *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeSubscriptionIDRequired,
		Message: "the customer has several active subscriptions: subscriptionId is required",
		Err:     errFromBilling,
	}
}

func errAlreadyCanceled() *Error {
	return &Error{
		Status:  http.StatusConflict,
		Code:    CodeAlreadyCanceled,
		Message: "the subscription is already canceled",
	}
}
