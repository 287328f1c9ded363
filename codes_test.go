package flowglad_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorCodesAreConstants: every error code the route, the middleware and the other
// packages answer is an exported constant of the root package (the webhook package would
// have its own), used by name, never as a literal; and the package documentation lists
// each (issue 15 item 11).
func TestErrorCodesAreConstants(t *testing.T) {
	t.Parallel()
	exported := rootCodeValues(t)
	require.Equal(t, "invalid_body", exported["CodeInvalidBody"])
	known := func(e ast.Expr) bool {
		name, ok := codeName(e)
		_, isExported := exported[name]
		// An unexported code constant is allowed when it aliases an exported one (the
		// ValueSpec case below refuses any that spells a code itself).
		return ok && (isExported || strings.HasPrefix(name, "code"))
	}

	fset := token.NewFileSet()
	var problems []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Flowglad's own codes (NOT_FOUND) live in flowgladapi and its fake; examples
			// are applications, not the library; internal/snippettest's Code is a
			// snippet's source text.
			switch path {
			case "examples", "flowgladapi", "testdata", ".git", filepath.Join("internal", "snippettest"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				// Error{Code: ...} and statusError{Code: ...}.
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					if !known(n.Value) {
						problems = append(problems, fset.Position(n.Pos()).String()+": Code is not an exported Code constant")
					}
				}
			case *ast.AssignStmt:
				// e.Code = ...
				for i, l := range n.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Code" && i < len(n.Rhs) {
						if !known(n.Rhs[i]) {
							problems = append(problems, fset.Position(n.Pos()).String()+": Code set to something other than an exported Code constant")
						}
					}
				}
			case *ast.ValueSpec:
				// An unexported code constant must be an alias of an exported one.
				for i, id := range n.Names {
					if strings.HasPrefix(id.Name, "code") && i < len(n.Values) {
						if _, lit := n.Values[i].(*ast.BasicLit); lit {
							problems = append(problems, fset.Position(id.Pos()).String()+": "+id.Name+" spells a code: use an exported Code constant")
						}
					}
				}
			case *ast.BasicLit:
				// A code hidden in a JSON literal.
				if n.Kind == token.STRING && regexp.MustCompile(`"code"\s*:\s*"[a-z_]+"`).MatchString(n.Value) {
					problems = append(problems, fset.Position(n.Pos()).String()+": a code inside a string literal")
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	assert.Empty(t, problems)

	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	section := string(doc)
	start := strings.Index(section, "// # Errors\n")
	require.GreaterOrEqual(t, start, 0, "doc.go has an Errors section")
	section = section[start+1:]
	if end := strings.Index(section, "// # "); end >= 0 {
		section = section[:end]
	}
	for name, value := range exported {
		assert.Regexp(t, `\b`+regexp.QuoteMeta(value)+`\b`, section, "doc.go's Errors section lists %s (%s)", value, name)
	}
}

// rootCodeValues reads the Code constants' values from errors.go.
func rootCodeValues(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				require.True(t, ok, "%s is a string literal", id.Name)
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out[id.Name] = v
			}
		}
	}
	return out
}

// codeName returns the name of the constant e names (Code..., flowglad.Code..., or an
// unexported code... alias); false for a literal or anything else.
func codeName(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name, true
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "flowglad" {
			return e.Sel.Name, true
		}
		if e.Sel.Name == "Code" {
			// Copied from another error's Code (statusError from *Error), itself checked
			// where it is set.
			return "codeField", true
		}
	}
	return "", false
}
