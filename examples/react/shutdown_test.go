package main

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/internal/logbuf"
)

// TestCloseReportsUnsentUsage: usage still queued when the drain on shutdown gives up
// (Flowglad down, the drain's time spent) is lost with the in-memory queue; Close says so
// at Error, with how many events were queued, rather than dropping them in silence.
func TestCloseReportsUnsentUsage(t *testing.T) {
	fake := flowgladapitest.NewServer(t, flowgladapitest.WithSeed(flowgladapitest.DemoSeed()))
	logs := &logbuf.Buffer{}
	a, err := newApp(appConfig{FlowgladAPIKey: fake.APIKey(), FlowgladBaseURL: fake.URL,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	require.NoError(t, err)
	_, err = a.recorder.Record(t.Context(), flowglad.Customer{ExternalID: flowgladapitest.DemoCustomerAlice},
		flowglad.UsageEventParams{UsageMeterSlug: apiCallsMeter, Amount: 3})
	require.NoError(t, err)
	fake.FailNext(1000, flowgladapitest.Fault{Method: http.MethodPost, Path: "/api/v1/usage-events/bulk", Status: http.StatusServiceUnavailable})
	a.drainTimeout = 0 // the drain's time is already spent

	a.Close()
	assert.Contains(t, logs.String(), `"level":"ERROR"`)
	assert.Contains(t, logs.String(), "usage events were not sent")
	assert.Contains(t, logs.String(), `"queued_at_shutdown":1`)
}
