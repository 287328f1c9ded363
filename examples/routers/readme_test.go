package routers_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/snippettest"
)

// TestReadmeRouterSnippets builds and runs the README's gin and echo snippets against the
// real gin and echo (the library's own snippet test, TestDocSnippets, builds them against
// stand-ins with the same signatures, so that neither router enters the library's go.mod).
func TestReadmeRouterSnippets(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: the README's snippets cannot be built")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	all, err := snippettest.Markdown(filepath.Join(root, "README.md"), "README.md")
	require.NoError(t, err)
	var snippets []snippettest.Snippet
	for _, s := range all {
		if s.Uses("gin") || s.Uses("echo") {
			snippets = append(snippets, s)
		}
	}
	require.GreaterOrEqual(t, len(snippets), 2, "the README's gin and echo mounts")

	here, err := filepath.Abs(".")
	require.NoError(t, err)
	out, err := snippettest.Run(t.Context(), goCmd, t.TempDir(), snippettest.Module{
		Root:       root,
		ModulePath: "github.com/flowglad-go/flowglad",
		GoMod:      filepath.Join(here, "go.mod"),
		Support:    filepath.Join(root, "testdata", "snippets"),
		Imports: map[string]string{
			"gin":  "github.com/gin-gonic/gin",
			"echo": "github.com/labstack/echo/v4",
			"http": "net/http",
		},
		Env:    []string{"GIN_MODE=release"},
		Subset: true,
	}, snippets)
	require.NoError(t, err, "the README's gin and echo snippets, against the real routers:\n%s", out)
	for _, s := range snippets {
		assert.Contains(t, out, "--- PASS: TestSnippets/"+s.Pos()+" ")
	}
}
