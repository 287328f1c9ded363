package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/flowglad-go/flowglad/actions"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests call the Service as Go code on the server does (CONTRACT §7): the same
// defaults and checks as the HTTP route, with issue paths named after the Go fields.

var goAlice = actions.Customer{ExternalID: flowgladapitest.DemoCustomerAlice, Name: "Alice Example", Email: "alice@example.com"}

// newGoService returns a Service over a fake seeded with the demo data.
func newGoService(t *testing.T, opts actions.Options) (*actions.Service, *flowgladapitest.Server) {
	t.Helper()
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	client, err := flowgladapi.NewClient(fake.APIKey(), flowgladapi.WithBaseURL(fake.URL),
		flowgladapi.WithRetryPolicy(flowgladapi.RetryPolicy{MaxRetries: 0}))
	require.NoError(t, err)
	svc, err := actions.New(client, opts)
	require.NoError(t, err)
	return svc, fake
}

// goCalls lists the fake's calls as "METHOD /path" and forgets them.
func goCalls(fake *flowgladapitest.Server) []string {
	out := []string{}
	for _, r := range fake.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	fake.ResetRequests()
	return out
}

// sentBody decodes the body of the last request to path.
func sentBody(t *testing.T, fake *flowgladapitest.Server, path string) map[string]any {
	t.Helper()
	reqs := fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			var m map[string]any
			require.NoError(t, json.Unmarshal(reqs[i].Body, &m))
			return m
		}
	}
	t.Fatalf("no request to %s", path)
	return nil
}

// requireGoIssues checks a 400 invalid_body with exactly these issue paths.
func requireGoIssues(t *testing.T, err error, paths ...string) {
	t.Helper()
	var ae *actions.Error
	require.True(t, errors.As(err, &ae), "want *actions.Error, got %v", err)
	assert.Equal(t, http.StatusBadRequest, ae.Status)
	assert.Equal(t, actions.CodeInvalidBody, ae.Code)
	issues, _ := ae.Details["issues"].([]actions.Issue)
	got := []string{}
	for _, is := range issues {
		got = append(got, is.Path)
	}
	assert.ElementsMatch(t, paths, got)
}

func TestGoCreateUsageEventDefaults(t *testing.T) {
	svc, fake := newGoService(t, actions.Options{NewTransactionID: func() string { return "tx-from-options" }})
	_, err := svc.CreateUsageEvent(context.Background(), goAlice, actions.UsageEventInput{UsageMeterSlug: flowgladapitest.DemoUsageMeterAPICalls})
	require.NoError(t, err)
	ev := sentBody(t, fake, "/api/v1/usage-events")["usageEvent"]
	assert.Equal(t, map[string]any{
		"subscriptionId": flowgladapitest.DemoAliceSubscriptionID, "amount": float64(1),
		"transactionId": "tx-from-options", "usageMeterSlug": "api-calls",
	}, ev, "amount 1, the current subscription and Options.NewTransactionID by default")
	assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing", "POST /api/v1/usage-events"}, goCalls(fake))
}

func TestGoCreateUsageEventInvalid(t *testing.T) {
	tests := []struct {
		name  string
		in    actions.UsageEventInput
		paths []string
	}{
		{"no identifier", actions.UsageEventInput{}, []string{"PriceID|PriceSlug|UsageMeterID|UsageMeterSlug"}},
		{"two identifiers", actions.UsageEventInput{PriceSlug: "a", UsageMeterSlug: "b"}, []string{"PriceID|PriceSlug|UsageMeterID|UsageMeterSlug"}},
		{"negative amount", actions.UsageEventInput{UsageMeterSlug: "a", Amount: -1}, []string{"Amount"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, fake := newGoService(t, actions.Options{})
			_, err := svc.CreateUsageEvent(context.Background(), goAlice, tc.in)
			requireGoIssues(t, err, tc.paths...)
			assert.Empty(t, goCalls(fake), "checked before any call")
		})
	}
}
