package flowglad_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowglad-go/flowglad/internal/snippettest"
)

// docSources are the files whose Go snippets must compile and run: the README's ```go
// blocks, and the indented code blocks of the package doc comment.
var docSources = []struct {
	path     string
	markdown bool
}{
	{"README.md", true},
	{"doc.go", false},
}

// snippetImports maps the package names snippets use to their import paths. A snippet
// that uses a package missing here fails to compile ("undefined: pkg"): add it. Paths
// starting with "./" are stand-in packages in testdata/snippets (the application's myapp;
// gin and echo, whose real packages examples/routers builds the same snippets with).
var snippetImports = map[string]string{
	"context":         "context",
	"errors":          "errors",
	"fmt":             "fmt",
	"http":            "net/http",
	"httptest":        "net/http/httptest",
	"io":              "io",
	"json":            "encoding/json",
	"log":             "log",
	"os":              "os",
	"slog":            "log/slog",
	"strings":         "strings",
	"time":            "time",
	"flowglad":        "github.com/flowglad-go/flowglad",
	"flowgladapi":     "github.com/flowglad-go/flowglad/flowgladapi",
	"flowgladapitest": "github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest",
	"middleware":      "github.com/flowglad-go/flowglad/middleware",
	"usage":           "github.com/flowglad-go/flowglad/usage",
	"webhook":         "github.com/flowglad-go/flowglad/webhook",
	"rediscache":      "github.com/flowglad-go/flowglad/cache/rediscache",
	"chi":             "github.com/go-chi/chi/v5",
	"redis":           "github.com/redis/go-redis/v9",
	"myapp":           "./myapp",
	"gin":             "./gin",
	"echo":            "./echo",
}

// docSnippets returns the snippets of docSources.
func docSnippets(t *testing.T) []snippettest.Snippet {
	t.Helper()
	var all []snippettest.Snippet
	for _, src := range docSources {
		extract := snippettest.DocComment
		if src.markdown {
			extract = snippettest.Markdown
		}
		s, err := extract(src.path, src.path)
		require.NoError(t, err)
		require.NotEmpty(t, s, "%s has no Go snippets: is the extractor still right?", src.path)
		all = append(all, s...)
	}
	return all
}

// snippetModule is how the root module builds the snippets: with its own go.mod's
// requirements and the stand-ins of testdata/snippets.
func snippetModule(t *testing.T) snippettest.Module {
	t.Helper()
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	return snippettest.Module{
		Root:       root,
		ModulePath: "github.com/flowglad-go/flowglad",
		GoMod:      filepath.Join(root, "go.mod"),
		Support:    filepath.Join(root, "testdata", "snippets"),
		Imports:    snippetImports,
	}
}

// goCommand returns the go command, or skips the test when there is none.
func goCommand(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: the README's snippets cannot be built")
	}
	return goCmd
}

// TestDocSnippets builds every Go snippet of README.md and doc.go in one generated package
// (go test: compile, vet, run), and runs each against the fake Flowglad API with Alice
// signed in; named snippets are then checked (testdata/snippets/standins_test.go). A
// failure names the README line: README.md:221:1: ...
func TestDocSnippets(t *testing.T) {
	t.Parallel()
	goCmd := goCommand(t)
	snippets := docSnippets(t)
	out, err := snippettest.Run(t.Context(), goCmd, t.TempDir(), snippetModule(t), snippets)
	if err != nil {
		t.Fatalf("the documentation's Go snippets fail (%v); the lines named below are README.md's or doc.go's:\n%s", err, out)
	}
	// Every snippet ran (or was skipped as compile-only), none silently left out.
	for _, s := range snippets {
		want := "--- PASS: TestSnippets/" + s.Pos() + " "
		if s.CompileOnly {
			want = "--- SKIP: TestSnippets/" + s.Pos() + " "
		}
		assert.Contains(t, out, want, "snippet %s", s.Pos())
	}
}

// TestDocSnippetsCatchBrokenSnippet shows the harness fails, naming the Markdown line, when
// a snippet stops compiling: here the README's old billing line, which reads a field of a
// pointer that is nil when the meter does not exist, as a statement Go refuses.
func TestDocSnippetsCatchBrokenSnippet(t *testing.T) {
	t.Parallel()
	goCmd := goCommand(t)
	md := filepath.Join(t.TempDir(), "BROKEN.md")
	require.NoError(t, os.WriteFile(md, []byte("# Broken\n\n```go\n"+
		"b, err := h.Service().Billing(r.Context(), customer)\n"+
		"if err != nil {\n\treturn\n}\n"+
		"b.CheckUsageBalance(\"generations\").AvailableBalance // nil when there is no such meter\n"+
		"```\n"), 0o644))
	snippets, err := snippettest.Markdown(md, "BROKEN.md")
	require.NoError(t, err)
	require.Len(t, snippets, 1)

	out, err := snippettest.Run(t.Context(), goCmd, t.TempDir(), snippetModule(t), snippets)
	require.Error(t, err, "a snippet that does not compile must fail the test:\n%s", out)
	assert.Contains(t, out, "BROKEN.md:8:1:", "the message names the Markdown line of the broken statement")
	assert.True(t, strings.Contains(out, "is not used"), out)
}
