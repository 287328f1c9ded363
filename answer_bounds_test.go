package flowglad_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteErrorAnyError: WriteError answers any error a host hands it, even an *Error
// built by hand without a status or with a huge message: an error status, a code and a
// message, at most 64 KB, never a panic. (Found by FuzzWriteError.)
func TestWriteErrorAnyError(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 200<<10)
	manyIssues := make([]flowglad.Issue, 5000)
	for i := range manyIssues {
		manyIssues[i] = flowglad.Issue{Path: strings.Repeat("p", 100), Message: "is wrong"}
	}
	tests := []struct {
		name             string
		err              error
		status           int
		code             string
		message          string // a prefix of the message
		keep, omit       []string
		omittedSomething bool
	}{
		{name: "no status", err: &flowglad.Error{Code: "oops", Message: "secret detail"},
			status: 500, code: "internal_error", message: "internal error"},
		{name: "a success status", err: &flowglad.Error{Status: 200, Code: "ok", Message: "fine"},
			status: 500, code: "internal_error", message: "internal error"},
		{name: "a redirect status", err: &flowglad.Error{Status: 302, Code: "moved", Message: "elsewhere"},
			status: 500, code: "internal_error", message: "internal error"},
		{name: "no code, no message", err: &flowglad.Error{Status: 418},
			status: 418, code: "error", message: "I'm a teapot"},
		{name: "a huge message", err: &flowglad.Error{Status: 400, Code: "bad", Message: huge, Details: map[string]any{"field": "a"}},
			status: 400, code: "bad", message: "xxxx", keep: []string{"field"}, omittedSomething: true},
		{name: "a huge detail", err: &flowglad.Error{Status: 402, Code: "pay", Message: "pay first", Details: map[string]any{"blob": huge, "count": 3}},
			status: 402, code: "pay", message: "pay first", keep: []string{"count"}, omit: []string{"blob"}, omittedSomething: true},
		{name: "thousands of issues", err: &flowglad.Error{Status: 400, Code: "invalid_body", Message: "invalid", Details: map[string]any{"issues": manyIssues}},
			status: 400, code: "invalid_body", message: "invalid", omit: []string{"issues"}, omittedSomething: true},
		{name: "a huge usage failure keeps the transaction id", err: &flowglad.UsageEventError{TransactionID: "tx-1",
			Err: &flowgladapi.Error{StatusCode: 500, Message: huge}},
			status: 502, code: "flowglad_unavailable", message: "Flowglad is unavailable", keep: []string{"transactionId", "requestId"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			require.NotPanics(t, func() { flowglad.WriteError(w, r, tc.err) })
			assert.LessOrEqual(t, w.Body.Len(), 64<<10)
			res := &response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
			j := res.assertError(t, tc.status, tc.code)
			assert.True(t, strings.HasPrefix(j["message"].(string), tc.message), "message %.60q", j["message"])
			assert.NotContains(t, w.Body.String(), "secret detail")
			for _, k := range tc.keep {
				assert.Contains(t, j, k)
			}
			for _, k := range tc.omit {
				assert.NotContains(t, j, k)
			}
			assert.Equal(t, tc.omittedSomething, j["detailsOmitted"] == true)
		})
	}
}
