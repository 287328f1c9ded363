package usage_test

import (
	"strconv"
	"testing"

	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/queuetest"
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
