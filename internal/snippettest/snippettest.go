// Package snippettest checks that the Go snippets of the documentation compile and run. It
// extracts the ```go blocks of a Markdown file and the indented code blocks of a Go doc
// comment, wraps each in a function of one generated package (with the imports it uses and
// the stand-ins a caller supplies for the application's own names), and runs that package
// with one "go test" in a temporary module that replaces this module with the checkout at
// hand: one build, vet (go test's checks) and run for every snippet at once.
//
// Each snippet is preceded in the generated file by a //line directive naming its source
// file and line, so compiler, vet and panic messages point at README.md:123, not at the
// generated file.
//
// A Markdown snippet may be named by an HTML comment on the line before its fence:
//
//	<!-- snippet: NAME -->
//	<!-- snippet: NAME compile-only (why) -->
//
// The name lets the stand-ins attach a check that runs after the snippet (checks[NAME]);
// compile-only snippets are built and vetted but not run (say why: it needs Redis, it
// serves forever).
package snippettest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Snippet is one block of Go code found in the documentation.
type Snippet struct {
	// File is the source's name as messages show it (README.md, doc.go).
	File string
	// Line is the line of File the code's first line is on.
	Line int
	// Name is the snippet's name from its marker comment, or "".
	Name string
	// CompileOnly says the snippet is built and vetted but not run.
	CompileOnly bool
	// Code is the snippet's text, without the fence or the comment prefix.
	Code string
}

// Pos returns "File:Line", as messages name the snippet.
func (s Snippet) Pos() string { return s.File + ":" + strconv.Itoa(s.Line) }

var (
	fenceOpen  = regexp.MustCompile("^(\\s*)```go(\\s.*)?$") // an info string may follow
	fenceClose = regexp.MustCompile("^\\s*```\\s*$")
	marker     = regexp.MustCompile(`^\s*<!--\s*snippet:\s*([A-Za-z0-9_.-]+)(\s+compile-only\b[^>]*)?\s*-->\s*$`)
)

// Markdown returns the ```go blocks of the Markdown file at path, named display in
// messages. A block indented under a list item loses that indentation.
func Markdown(path, display string) ([]Snippet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		out     []Snippet
		cur     *Snippet
		indent  string
		lines   []string
		prevTxt string // the last non-blank line before a fence
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur == nil {
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				cur = &Snippet{File: display, Line: n + 1}
				indent = m[1]
				lines = lines[:0]
				if mm := marker.FindStringSubmatch(prevTxt); mm != nil {
					cur.Name = mm[1]
					cur.CompileOnly = mm[2] != ""
				}
			} else if strings.TrimSpace(line) != "" {
				prevTxt = line
			}
			continue
		}
		if fenceClose.MatchString(line) {
			cur.Code = strings.Join(lines, "\n") + "\n"
			out = append(out, *cur)
			cur, prevTxt = nil, ""
			continue
		}
		lines = append(lines, strings.TrimPrefix(line, indent))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unclosed ```go block", display, cur.Line-1)
	}
	return out, nil
}

// DocComment returns the code blocks (lines indented by a tab) of the package doc comment
// of the Go file at path, named display in messages. Blocks of JSON, HTML or shell commands
// are left out (see notGo).
func DocComment(path, display string) ([]Snippet, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		return nil, err
	}
	if f.Doc == nil {
		return nil, nil
	}
	var out []Snippet
	var cur *Snippet
	var lines []string
	pendingBlank := 0 // blank comment lines seen inside a block, kept if code follows
	flush := func() {
		if cur != nil {
			cur.Code = strings.Join(lines, "\n") + "\n"
			if !notGo(cur.Code) {
				out = append(out, *cur)
			}
			cur, lines = nil, nil
		}
		pendingBlank = 0
	}
	for _, c := range f.Doc.List {
		text, ok := strings.CutPrefix(c.Text, "//")
		if !ok { // a /* */ comment: not supported in a package doc here
			flush()
			continue
		}
		switch {
		case strings.HasPrefix(text, "\t"):
			if cur == nil {
				cur = &Snippet{File: display, Line: fset.Position(c.Slash).Line}
			}
			for ; pendingBlank > 0; pendingBlank-- {
				lines = append(lines, "")
			}
			lines = append(lines, text[1:])
		case strings.TrimSpace(text) == "" && cur != nil:
			pendingBlank++
		default:
			flush()
		}
	}
	flush()
	return out, nil
}

// Uses reports whether the snippet uses package pkg (by the name it is called by), so that
// a module that has that package can build just the snippets that need it.
func (s Snippet) Uses(pkg string) bool {
	return slices.Contains(s.packages(map[string]string{pkg: pkg}), pkg)
}

// packages returns the names of imports the snippet uses; none when it does not parse.
func (s Snippet) packages(imports map[string]string) []string {
	src := "package " + genModule + "\n\n" + s.Code
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil || len(f.Decls) == 0 {
		src = "package " + genModule + "\n\nfunc _() {\n" + s.Code + "}\n"
		if f, err = parser.ParseFile(token.NewFileSet(), "", src, 0); err != nil {
			return nil
		}
	}
	return usedPackages(f, imports)
}

// notGo reports whether a doc comment's code block is data or a command rather than Go: it
// starts with '{', '[', '"' or '<' (JSON, HTML) or '$' (a shell prompt), which no Go
// statement or declaration a doc would show does.
func notGo(code string) bool {
	t := strings.TrimSpace(code)
	return t != "" && strings.ContainsRune("{[\"<$", rune(t[0]))
}

// Module says how to build the generated package.
type Module struct {
	// Root is the directory of the module under test (github.com/flowglad-go/flowglad),
	// which the generated module replaces it with.
	Root string
	// ModulePath is the module path of Root.
	ModulePath string
	// GoMod is a go.mod whose requirements the generated module takes (with the go.sum
	// beside it), so the build needs no download the module under test does not.
	GoMod string
	// Support is a directory copied into the generated module: the stand-ins
	// (a package "snippets" file defining setup(*testing.T) and
	// checks map[string]func(*testing.T)) and stand-in packages in subdirectories.
	Support string
	// Imports maps the package names snippets use to import paths; a path starting with
	// "./" is a directory of Support (a stand-in package such as myapp).
	Imports map[string]string
	// Env is added to the go command's environment.
	Env []string
	// Subset says the snippets are a part of the documentation's (those one module can
	// build), so a check naming none of them is not an error.
	Subset bool
}

// genModule is the generated module's path.
const genModule = "snippets"

// Run writes the generated module into dir and runs "go test -v" on it, returning the go
// command's combined output and its error (nil when every snippet compiled, vetted and
// ran without failing its check).
func Run(ctx context.Context, goCmd, dir string, m Module, snippets []Snippet) (string, error) {
	if err := readSources(m, snippets); err != nil {
		return "", err
	}
	if err := copyDir(m.Support, dir); err != nil {
		return "", err
	}
	if err := writeGoMod(dir, m); err != nil {
		return "", err
	}
	var list strings.Builder
	for i, s := range snippets {
		src, err := generate(s, i, m.Imports)
		if err != nil {
			return "", err
		}
		name := fmt.Sprintf("snippet%03d_test.go", i)
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(&list, "\t{name: %q, pos: %q, run: snippet%03d, compileOnly: %t},\n", s.Name, s.Pos(), i, s.CompileOnly)
	}
	runner := strings.Replace(runnerSource, "\t// SNIPPETS\n", list.String(), 1)
	runner = strings.Replace(runner, "= ALL\n", "= "+strconv.FormatBool(!m.Subset)+"\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "runner_test.go"), []byte(runner), 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, goCmd, "test", "-count=1", "-v", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, m.Env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeGoMod writes dir/go.mod: m.GoMod's requirements, the module under test replaced by
// m.Root, and m.GoMod's go.sum.
func writeGoMod(dir string, m Module) error {
	mod, err := os.ReadFile(m.GoMod)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n", genModule)
	for line := range strings.Lines(string(mod)) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "module ") || strings.HasPrefix(t, "replace ") && strings.Contains(t, m.ModulePath+" ") {
			continue
		}
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "\nrequire %s v0.0.0\n\nreplace %s => %s\n", m.ModulePath, m.ModulePath, strconv.Quote(m.Root))
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	sum, err := os.ReadFile(filepath.Join(filepath.Dir(m.GoMod), "go.sum"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
}

// generate returns the file holding snippet s as function snippet<i>: its statements as the
// function's body, or its declarations beside an empty function.
func generate(s Snippet, i int, imports map[string]string) ([]byte, error) {
	directive := "//line " + s.Pos() + ":1\n"
	fn := fmt.Sprintf("snippet%03d", i)
	// Declarations (func, type, var at top level) stay top-level declarations.
	declPrefix := "package " + genModule + "\n\n"
	if f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+s.Code, 0); err == nil && len(f.Decls) > 0 {
		pkgs := usedPackages(f, imports)
		body := directive + s.Code + "\n//line " + fn + ".go:1\nfunc " + fn + "() {}\n"
		return assemble(pkgs, imports, body)
	}
	// Statements run in a function; every name declared at the body's top level is also
	// used, so that a fragment whose last lines only declare (h, err := ...) compiles as it
	// would in the application around it.
	stmtPrefix := "package " + genModule + "\n\nfunc " + fn + "() {\n"
	src := stmtPrefix + directive + s.Code + "}\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil {
		// Let the compiler report it, at the snippet's own lines.
		return assemble(nil, imports, src[len("package "+genModule+"\n\n"):])
	}
	pkgs := usedPackages(f, imports)
	var inserts []insert
	body := f.Decls[len(f.Decls)-1].(*ast.FuncDecl).Body
	for _, st := range body.List {
		names := declaredNames(st)
		if len(names) == 0 {
			continue
		}
		blanks := strings.TrimSuffix(strings.Repeat("_, ", len(names)), ", ")
		inserts = append(inserts, insert{
			off:  fset.File(st.End()).Offset(st.End()),
			text: "; " + blanks + " = " + strings.Join(names, ", "),
		})
	}
	for _, in := range slices.Backward(inserts) {
		src = src[:in.off] + in.text + src[in.off:]
	}
	return assemble(pkgs, imports, src[len("package "+genModule+"\n\n"):])
}

type insert struct {
	off  int
	text string
}

// assemble returns the package clause, the imports of pkgs, and body.
func assemble(pkgs []string, imports map[string]string, body string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("// Code generated by internal/snippettest. DO NOT EDIT.\n\npackage " + genModule + "\n\n")
	if len(pkgs) > 0 {
		b.WriteString("import (\n")
		for _, p := range pkgs {
			path := imports[p]
			if rest, ok := strings.CutPrefix(path, "./"); ok {
				path = genModule + "/" + rest
			}
			fmt.Fprintf(&b, "\t%s %q\n", p, path)
		}
		b.WriteString(")\n\n")
	}
	b.WriteString(body)
	return []byte(b.String()), nil
}

// usedPackages returns the names of imports that f uses as pkg.Name without declaring
// pkg itself, sorted.
func usedPackages(f *ast.File, imports map[string]string) []string {
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			// Object resolution (deprecated, but enough here) tells a package from a local
			// name: a name the snippet declares has an Obj.
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil && imports[id.Name] != "" {
				seen[id.Name] = true
			}
		}
		return true
	})
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// declaredNames returns the names a statement declares at its block's level, "_" left out.
func declaredNames(st ast.Stmt) []string {
	var names []string
	add := func(id *ast.Ident) {
		if id.Name != "_" {
			names = append(names, id.Name)
		}
	}
	switch st := st.(type) {
	case *ast.AssignStmt:
		if st.Tok == token.DEFINE {
			for _, e := range st.Lhs {
				if id, ok := e.(*ast.Ident); ok {
					add(id)
				}
			}
		}
	case *ast.DeclStmt:
		if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
			for _, sp := range gd.Specs {
				for _, id := range sp.(*ast.ValueSpec).Names {
					add(id)
				}
			}
		}
	}
	return names
}

// readSources reads go.mod, go.sum and the non-test Go files of the module's packages the
// snippets import. The go command records the files a test opens and reuses a cached
// result only while they are unchanged; the snippets are built by another go command, whose
// reads it does not see, from packages (the middleware, the Redis cache) the calling test
// need not import. Reading them here makes a change to any of them run the snippets again
// instead of reporting a stale pass. (The packages those import within the module are the
// root and internal ones, which the calling test imports anyway.)
func readSources(m Module, snippets []Snippet) error {
	for _, name := range []string{"go.mod", "go.sum"} {
		if _, err := os.ReadFile(filepath.Join(m.Root, name)); err != nil {
			return err
		}
	}
	dirs := map[string]bool{}
	for _, s := range snippets {
		for _, pkg := range s.packages(m.Imports) {
			path := m.Imports[pkg]
			if path == m.ModulePath {
				dirs[m.Root] = true
			} else if rest, ok := strings.CutPrefix(path, m.ModulePath+"/"); ok {
				dirs[filepath.Join(m.Root, filepath.FromSlash(rest))] = true
			}
		}
	}
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
				if _, err := os.ReadFile(filepath.Join(dir, n)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// copyDir copies the regular files of src into dst, recursively.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return errors.New("snippettest: not a regular file: " + path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// runnerSource is the generated package's test: it runs each snippet in a subtest named
// by its position, after setup and before its check, and turns a panic into a failure
// that names the snippet.
const runnerSource = `// Code generated by internal/snippettest. DO NOT EDIT.

package snippets

import (
	"runtime/debug"
	"testing"
)

type snippet struct {
	name, pos   string
	run         func()
	compileOnly bool
}

// allSnippets says every snippet of the documentation is here, so a check naming none is
// stale.
const allSnippets = ALL

var snippets = []snippet{
	// SNIPPETS
}

func TestSnippets(t *testing.T) {
	named := map[string]bool{}
	for _, s := range snippets {
		if s.name != "" {
			if named[s.name] {
				t.Errorf("%s: a second snippet named %q", s.pos, s.name)
			}
			named[s.name] = true
		}
		t.Run(s.pos, func(t *testing.T) {
			if s.compileOnly {
				t.Skip("compile-only")
			}
			setup(t)
			if !runSnippet(t, s) {
				return
			}
			afterEach(t)
			if check := checks[s.name]; check != nil {
				check(t)
			}
		})
	}
	for name := range checks {
		if allSnippets && !named[name] {
			t.Errorf("checks[%q]: no snippet has that name (<!-- snippet: %s -->)", name, name)
		}
	}
}

// runSnippet runs s and reports whether it returned without panicking.
func runSnippet(t *testing.T, s snippet) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: the snippet panicked: %v\n%s", s.pos, p, debug.Stack())
		}
	}()
	s.run()
	return true
}
`
