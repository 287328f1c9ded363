package flowglad_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRootImportDirection: the root's files read one way, handler, answer and route table
// -> the resource files -> billing reads (internal/billingread) -> flowgladapi. The request
// memo is billing reads' own (the root reaches a request's billing through the loader), and
// the files above the resource files do not reach billing reads past them.
func TestRootImportDirection(t *testing.T) {
	const (
		billingread = "github.com/flowglad-go/flowglad/internal/billingread"
		reqmemo     = "github.com/flowglad-go/flowglad/internal/reqmemo"
	)
	above := map[string]bool{"handler.go": true, "answer.go": true, "routes.go": true, "errors.go": true,
		"auth.go": true, "config.go": true, "decode.go": true, "doc.go": true}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			assert.NotEqual(t, reqmemo, path, "%s reads the request memo itself: ask the billing loader", name)
			if above[name] {
				assert.NotEqual(t, billingread, path, "%s reaches billing reads past the resource files", name)
			}
		}
	}
	require.Greater(t, checked, 10, "the root's files were found")
}
