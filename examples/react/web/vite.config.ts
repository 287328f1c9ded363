import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The Go server (../main.go) owns the origin: it embeds dist/ with go:embed,
// serves it at "/" (SPA-style) and mounts the Flowglad handler at
// /api/flowglad/ plus the demo sign-in at /demo/. During `npm run dev` Vite
// serves the page and forwards those two prefixes to the Go server, so the
// browser still sees one origin (cookies and same-origin checks just work).
const goServer = 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [react()],
  // Absolute asset URLs (/assets/...): the page lives at "/" and the server
  // may answer any unknown path with index.html, where relative URLs would
  // resolve against the wrong directory.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Keep the embedded build deterministic and small: one JS and one CSS file.
    assetsInlineLimit: 4096,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': { target: goServer },
      '/demo': { target: goServer },
    },
  },
  preview: {
    proxy: {
      '/api': { target: goServer },
      '/demo': { target: goServer },
    },
  },
})
