package flowglad_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertGolden compares an answer (status and envelope) with testdata/golden/<name>.json.
// Run `go test -run <Test> -update .` to rewrite the files after a deliberate change, then
// review the diff.
func assertGolden(t *testing.T, name string, r *response) {
	t.Helper()
	var body any
	require.NoError(t, json.Unmarshal(r.Body, &body), "body: %s", r.Body)
	got, err := json.MarshalIndent(map[string]any{"status": r.Status, "body": body}, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')

	path := filepath.Join("testdata", "golden", filepath.FromSlash(name)+".json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	assert.Equal(t, string(bytes.TrimSpace(want)), string(bytes.TrimSpace(got)), "golden %s differs; run go test -update and review the diff", path)
}

// assertGoldenIf is assertGolden for a table case whose golden file is optional: it checks
// nothing when name is "".
func assertGoldenIf(t *testing.T, name string, r *response) {
	t.Helper()
	if name != "" {
		assertGolden(t, name, r)
	}
}
