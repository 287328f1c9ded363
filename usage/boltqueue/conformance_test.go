package boltqueue_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
	"github.com/flowglad-go/flowglad/usage/queuetest"
)

// The bolt queue passes the suite every queue passes; reopening closes the file without
// acknowledging or releasing anything, as a process that stops does.
func TestConformance(t *testing.T) {
	for _, d := range []struct {
		name string
		d    boltqueue.Durability
	}{{"SyncEveryPut", boltqueue.SyncEveryPut}, {"SyncInBackground", boltqueue.SyncInBackground}} {
		t.Run(d.name, func(t *testing.T) {
			queuetest.Run(t,
				func(t *testing.T) usage.Queue {
					q, err := boltqueue.Open(filepath.Join(t.TempDir(), "usage.db"), boltqueue.WithCapacity(1000),
						boltqueue.WithDurability(d.d))
					require.NoError(t, err)
					return q
				},
				queuetest.WithReopen(func(t *testing.T, q usage.Queue) usage.Queue {
					bq := q.(*boltqueue.Queue)
					path := bq.Path()
					require.NoError(t, bq.Close())
					reopened, err := boltqueue.Open(path, boltqueue.WithCapacity(1000), boltqueue.WithDurability(d.d))
					require.NoError(t, err)
					return reopened
				}),
			)
		})
	}
}
