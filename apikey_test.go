package flowglad_test

import (
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPIKeyShape: NewHandler and NewService refuse a key that can never work, loudly and
// without repeating it, and keep every key that may.
func TestAPIKeyShape(t *testing.T) {
	cases := []struct {
		name, key string
		fromEnv   bool
		wantErr   string // "" when the key is accepted
	}{
		{"test secret key", "sk_test_q7ZxW3rv", false, ""},
		{"live secret key", "sk_live_q7ZxW3rv", false, ""},
		{"the fake's key", flowgladapitest.DefaultAPIKey, false, ""},
		{"a key of another form (a proxy's)", "k", false, ""},
		{"with the Bearer scheme", "Bearer sk_test_q7ZxW3rv", false, ""},
		{"surrounded by spaces", " sk_test_q7ZxW3rv ", false, ""},
		{"publishable test key", "pk_test_q7ZxW3rv", false, "publishable key"},
		{"publishable live key", "pk_live_q7ZxW3rv", false, "publishable key"},
		{"publishable, upper case", "PK_TEST_q7ZxW3rv", false, "publishable key"},
		{"publishable with the Bearer scheme", "bearer pk_live_q7ZxW3rv", false, "publishable key"},
		{"publishable from the environment", "pk_test_q7ZxW3rv", true, "publishable key"},
		{"webhook secret", "whsec_q7ZxW3rv", false, "webhook signing secret"},
		{"a NUL byte", "sk_test_q7ZxW3rv\x00", false, "control or non-ASCII"},
		{"a tab inside", "sk_test_q7Zx\tW3rv", false, "control or non-ASCII"},
		{"non-ASCII", "sk_test_q7ZxW3rv\u00a0", false, "control or non-ASCII"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := flowglad.Config{APIKey: tc.key, Auth: testAuth}
			if tc.fromEnv {
				t.Setenv("FLOWGLAD_SECRET_KEY", tc.key)
				cfg.APIKey = ""
			}
			_, herr := flowglad.NewHandler(cfg)
			_, serr := flowglad.NewService(cfg)
			for name, err := range map[string]error{"NewHandler": herr, "NewService": serr} {
				if tc.wantErr == "" {
					assert.NoError(t, err, name)
					continue
				}
				require.Error(t, err, name)
				assert.Contains(t, err.Error(), tc.wantErr, name)
				assert.Contains(t, err.Error(), "sk_test_... or sk_live_...", "%s: the error says what to give", name)
				assert.NotContains(t, err.Error(), "q7Zx", "%s: no fragment of the key", name)
				assert.NotContains(t, err.Error(), "W3rv", "%s: no fragment of the key", name)
			}
		})
	}
}
