package usage_test

import (
	"testing"

	"github.com/flowglad-go/flowglad/usage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventEncoding(t *testing.T) {
	e := usage.Event{
		CustomerID: "user_1", UsageMeterSlug: "api-calls", Amount: 3, TransactionID: "job-42",
		Properties: map[string]any{"model": "small"}, UsageDate: 1765000000000, RecordedAt: 1765000000001,
	}
	b, err := usage.EncodeEvent(e)
	require.NoError(t, err)
	got, err := usage.DecodeEvent(b)
	require.NoError(t, err)
	assert.Equal(t, e, got)

	for _, bad := range [][]byte{nil, []byte(`{"amount":1}`), append([]byte{'1'}, `{"amount":`...)} {
		_, err := usage.DecodeEvent(bad)
		assert.Error(t, err, "%q", bad)
	}
}
