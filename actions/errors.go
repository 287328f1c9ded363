package actions

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// Error is an action failure that knows how it should reach the browser: an HTTP status, a
// snake_case code and a message that is safe to show. The root package turns it into the
// {"error": {...}} envelope; Go callers can inspect it with errors.As.
//
// Errors that come from Flowglad itself are returned as *flowgladapi.Error (wrapped), not as
// *Error: the handler maps those in one place.
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
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("actions: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("actions: %s: %s", e.Code, e.Message)
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

// Codes of the errors actions produce.
const (
	CodeInvalidBody            = "invalid_body"
	CodeForbidden              = "forbidden"
	CodeNoActiveSubscription   = "no_active_subscription"
	CodeSubscriptionIDRequired = "subscription_id_required"
	CodeAlreadyCanceled        = "already_canceled"
	CodeInvalidCustomer        = "invalid_customer"
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
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := 0
	for i := range s {
		if n == maxEcho {
			return s[:i] + "..."
		}
		n++
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

func errNoActiveSubscription() *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeNoActiveSubscription,
		Message: "the customer has no active subscription",
	}
}

func errSubscriptionIDRequired() *Error {
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeSubscriptionIDRequired,
		Message: "the customer has several active subscriptions: subscriptionId is required",
	}
}

func errAlreadyCanceled() *Error {
	return &Error{
		Status:  http.StatusConflict,
		Code:    CodeAlreadyCanceled,
		Message: "the subscription is already canceled",
	}
}
