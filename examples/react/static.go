package main

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist is the built front end (web/dist, see web/README.md). "all:" keeps files whose names
// start with "_" or ".", which a bundler may emit.
//
//go:embed all:web/dist
var dist embed.FS

// staticSite serves the embedded page: existing files as they are, index.html for every
// other page path, so a client-side route survives a reload.
type staticSite struct {
	files fs.FS
	index []byte
	// fileServer serves existing files with Range, HEAD and content types by extension.
	fileServer http.Handler
}

func newStaticSite() (*staticSite, error) {
	files, err := fs.Sub(dist, "web/dist")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("the embedded front end has no index.html (build it: cd examples/react/web && npm ci && npm run build): %w", err)
	}
	return &staticSite{files: files, index: index, fileServer: http.FileServerFS(files)}, nil
}

func (s *staticSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" || p == "/index.html" {
		s.serveIndex(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if fi, err := fs.Stat(s.files, name); err == nil && fi.Mode().IsRegular() {
		if strings.HasPrefix(name, "assets/") {
			// Vite puts a content hash in every asset name: a new build has new names.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		s.fileServer.ServeHTTP(w, r)
		return
	}
	// Unknown API paths, missing assets and missing files answer 404 rather than the page:
	// a browser or a client expecting JSON or a script must not receive HTML.
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/assets/") || path.Ext(name) != "" {
		http.NotFound(w, r)
		return
	}
	s.serveIndex(w, r)
}

// serveIndex answers with index.html. It must be revalidated on every load: it names the
// current build's asset files.
func (s *staticSite) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(s.index))
}
