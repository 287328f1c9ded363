package usage_test

import (
	"strconv"
	"testing"

	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/queuetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryQueueConformance(t *testing.T) {
	for _, capacity := range []int{10, 1000} {
		t.Run("capacity="+itoa(capacity), func(t *testing.T) {
			queuetest.Run(t, func(*testing.T) usage.Queue { return usage.NewMemoryQueue(capacity) })
		})
	}
}

func TestMemoryQueueDefaultCapacity(t *testing.T) {
	for _, c := range []int{0, -5} {
		if got := usage.NewMemoryQueue(c).Capacity(); got != usage.DefaultQueueCapacity {
			t.Errorf("NewMemoryQueue(%d).Capacity() = %d, want %d", c, got, usage.DefaultQueueCapacity)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestMemoryQueueCopiesProperties: Put keeps its own copy of each event's properties, an
// empty map included, so that the caller may fill or reuse its map afterwards.
func TestMemoryQueueCopiesProperties(t *testing.T) {
	for _, props := range []map[string]any{{}, {"model": "small"}} {
		q := usage.NewMemoryQueue(10)
		want := map[string]any{}
		for k, v := range props {
			want[k] = v
		}
		require.NoError(t, q.Put(t.Context(), []usage.Event{{CustomerID: "c", UsageMeterSlug: "m", Amount: 1, Properties: props}}))
		props["added"] = "after Put"
		got, err := q.Claim(t.Context(), 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, want, got[0].Event.Properties)
	}
}
