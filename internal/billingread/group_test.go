package billingread

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlightGroupMark: a run is skipped when one for the same key succeeded after the
// caller's mark, and only then: not for an older success, a failure, another key, or a
// success the group has forgotten.
func TestFlightGroupMark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ok := func(context.Context) (any, error) { return "ran", nil }
	fail := func(context.Context) (any, error) { return nil, errors.New("boom") }
	tests := []struct {
		name    string
		key     string // the key run after the caller's mark ("" for none)
		run     func(context.Context) (any, error)
		forget  bool // then maxFinished runs of other keys succeed
		remark  bool // then the caller takes its mark
		wantRan bool
	}{
		{name: "nothing ran", wantRan: true},
		{name: "succeeded after the mark", key: "a", run: ok, wantRan: false},
		{name: "succeeded before the mark", key: "a", run: ok, remark: true, wantRan: true},
		{name: "failed after the mark", key: "a", run: fail, wantRan: true},
		{name: "another key succeeded", key: "b", run: ok, wantRan: true},
		{name: "forgotten", key: "a", run: ok, forget: true, wantRan: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Group{}
			mark := g.Mark()
			if tc.key != "" {
				_, _, _ = g.Do(ctx, tc.key, mark, tc.run)
			}
			if tc.forget {
				for i := range maxFinished {
					_, _, _ = g.Do(ctx, "k"+strconv.Itoa(i), mark, ok)
				}
			}
			if tc.remark {
				mark = g.Mark()
			}
			assert.Equal(t, !tc.wantRan, g.SucceededSince(ctx, "a", mark))
			v, ran, err := g.Do(ctx, "a", mark, ok)
			require.NoError(t, err)
			assert.Equal(t, tc.wantRan, ran)
			if tc.wantRan {
				assert.Equal(t, "ran", v)
			}
			assert.LessOrEqual(t, len(g.finished), maxFinished)
		})
	}
}

// TestFlightGroupInProgress: a run in progress when the mark is taken counts once it
// succeeds: the caller's evidence may predate it.
func TestFlightGroupInProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := &Group{}
	release, started := make(chan struct{}), make(chan struct{})
	first := make(chan any)
	go func() {
		v, _, _ := g.Do(ctx, "a", g.Mark(), func(context.Context) (any, error) {
			close(started)
			<-release
			return "first", nil
		})
		first <- v
	}()
	<-started
	mark := g.Mark()
	// Asked while the run is in progress, succeededSince waits for it.
	since := make(chan bool)
	go func() { since <- g.SucceededSince(ctx, "a", mark) }()
	select {
	case <-since:
		t.Fatal("succeededSince answered before the run in progress ended")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, "first", <-first)
	assert.True(t, <-since, "the run in progress succeeded")
	assert.True(t, g.SucceededSince(ctx, "a", mark))
	_, ran, err := g.Do(ctx, "a", mark, func(context.Context) (any, error) { return "second", nil })
	require.NoError(t, err)
	assert.False(t, ran, "the run in progress at the mark made this one needless")
}

// TestGroupPanic: a run that panics (on the group's goroutine, where a panic would end the
// process) fails its callers with a *PanicError that names the value's type, not its text;
// the key is free for the next run.
func TestGroupPanic(t *testing.T) {
	t.Parallel()
	g := &Group{}
	_, ran, err := g.Do(t.Context(), "a", g.Mark(), func(context.Context) (any, error) {
		panic("lookup failed for u1@example.com")
	})
	assert.True(t, ran)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "lookup failed for u1@example.com", pe.Value)
	assert.NotEmpty(t, pe.Stack)
	assert.NotContains(t, err.Error(), "example.com")
	v, ran, err := g.Do(t.Context(), "a", g.Mark(), func(context.Context) (any, error) { return "ran", nil })
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, "ran", v)
}

// TestFlightGroupOrder: each success is remembered at a clock of its own, later ones after
// earlier ones, and the last maxFinished of them are all remembered.
func TestFlightGroupOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ok := func(context.Context) (any, error) { return "ran", nil }
	g := &Group{}
	start := g.Mark()
	_, _, _ = g.Do(ctx, "a", start, ok)
	afterA := g.Mark()
	_, _, _ = g.Do(ctx, "b", start, ok)
	assert.False(t, g.SucceededSince(ctx, "a", afterA), "a succeeded before the mark")
	assert.True(t, g.SucceededSince(ctx, "b", afterA), "b succeeded after it")

	g = &Group{}
	start = g.Mark()
	_, _, _ = g.Do(ctx, "first", start, ok)
	for i := range maxFinished - 1 {
		_, _, _ = g.Do(ctx, "k"+strconv.Itoa(i), start, ok)
	}
	assert.True(t, g.SucceededSince(ctx, "first", start), "still among the last maxFinished")
}
