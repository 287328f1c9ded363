package actions

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
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

// invalidBody reports every issue at once as a 400.
func invalidBody(issues []Issue) *Error {
	sort.SliceStable(issues, func(i, j int) bool { return issues[i].Path < issues[j].Path })
	msg := "invalid request body"
	if len(issues) > 0 {
		parts := make([]string, 0, len(issues))
		for _, is := range issues {
			if is.Path == "" {
				parts = append(parts, is.Message)
				continue
			}
			parts = append(parts, is.Path+": "+is.Message)
		}
		msg = "invalid request body: " + strings.Join(parts, "; ")
	}
	return &Error{
		Status:  http.StatusBadRequest,
		Code:    CodeInvalidBody,
		Message: msg,
		Details: map[string]any{"issues": issues},
	}
}

// errForbidden is the one answer for an id that is not the customer's or does not exist, so
// ids cannot be probed.
func errForbidden(what string) *Error {
	return &Error{
		Status:  http.StatusForbidden,
		Code:    CodeForbidden,
		Message: what + " does not belong to the signed-in customer",
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
