package flowglad_test

import (
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOriginConfig: NewHandler and NewService refuse origins they could never match, with
// an error that says how to write them.
func TestOriginConfig(t *testing.T) {
	t.Parallel()
	bad := []struct{ origin, want string }{
		{"https://*.example.com", "wildcards are not supported"},
		{"*", "is not an origin"},
		{"app.example.com", "is not an origin"},
		{"https://app.example.com/", "no user, path"},
		{"https://app.example.com/app", "no user, path"},
		{"https://user@app.example.com", "no user, path"},
		{"https://app.example.com?x", "no user, path"},
		{"https://App.Example.com", `write it in lowercase, as browsers send it: "https://app.example.com"`},
		{"https://app.example.com:443", `drop the default port, as browsers do: "https://app.example.com"`},
		{"http://app.example.com:80", `drop the default port, as browsers do: "http://app.example.com"`},
		{"https://app.example.com:", "an empty port"},
	}
	fields := []struct {
		name string
		set  func(c *flowglad.Config, origin string)
		svc  bool // NewService checks it too
	}{
		{"TrustedOrigins", func(c *flowglad.Config, o string) { c.TrustedOrigins = []string{"https://ok.example", o} }, false},
		{"RedirectOrigins", func(c *flowglad.Config, o string) { c.RedirectOrigins = []string{"https://ok.example", o} }, true},
	}
	base := func() flowglad.Config {
		return flowglad.Config{APIKey: "sk_test_x", Auth: testAuth}
	}
	for _, f := range fields {
		for _, b := range bad {
			t.Run(f.name+" "+b.origin, func(t *testing.T) {
				cfg := base()
				f.set(&cfg, b.origin)
				_, err := flowglad.NewHandler(cfg)
				require.Error(t, err)
				assert.Contains(t, err.Error(), "Config."+f.name+"[1]")
				assert.Contains(t, err.Error(), b.want)
				if f.svc {
					_, err := flowglad.NewService(cfg)
					assert.ErrorContains(t, err, b.want)
				}
			})
		}
	}
	t.Run("RedirectOrigins: http(s) only", func(t *testing.T) {
		cfg := base()
		cfg.RedirectOrigins = []string{"chrome-extension://abcdef"}
		_, err := flowglad.NewService(cfg)
		assert.ErrorContains(t, err, "only http and https origins are allowed")
	})
	t.Run("good ones", func(t *testing.T) {
		cfg := base()
		good := []string{"https://app.example.com", "http://localhost:3000", "http://[::1]:8080", "chrome-extension://abcdef"}
		cfg.TrustedOrigins = good
		cfg.RedirectOrigins = good[:3]
		_, err := flowglad.NewHandler(cfg)
		assert.NoError(t, err)
	})
}
