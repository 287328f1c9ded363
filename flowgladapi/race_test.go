//go:build race

package flowgladapi_test

// raceEnabled: the race detector changes allocations (and sync.Pool drops buffers at
// random), so tests that count bytes allocated skip under it.
const raceEnabled = true
