package billingread

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImports: billing reads sit below every action. The package and what it imports reach
// the standard library, uuid, flowgladapi and the internal packages listed here only: never
// the root package, nor middleware, usage, webhook or a cache implementation.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list imports with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err)
	allowed := map[string]bool{
		"github.com/flowglad-go/flowglad/internal/billingread": true,
		"github.com/flowglad-go/flowglad/flowgladapi":          true,
		"github.com/flowglad-go/flowglad/internal/jsonscan":    true,
		"github.com/flowglad-go/flowglad/internal/redact":      true,
		"github.com/flowglad-go/flowglad/internal/reqmemo":     true,
		"github.com/google/uuid":                               true,
	}
	deps := strings.Fields(string(out))
	require.NotEmpty(t, deps)
	for _, dep := range deps {
		assert.True(t, allowed[dep], "internal/billingread depends on %s", dep)
	}
}
