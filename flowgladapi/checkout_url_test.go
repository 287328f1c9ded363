package flowgladapi_test

import (
	"encoding/json"
	"testing"

	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeCheckoutSessionURL: the url of a checkout answer is where a browser is sent,
// so DecodeCheckoutSession accepts only https, or http on a loopback host.
func TestDecodeCheckoutSessionURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://app.flowglad.com/checkout/cs_1", true},
		{"HTTPS://app.flowglad.com/checkout/cs_1", true},
		{"http://localhost:3000/checkout/cs_1", true},
		{"http://LOCALHOST/checkout/cs_1", true},
		{"http://127.0.0.1:8080/checkout/cs_1", true},
		{"http://127.1.2.3/checkout/cs_1", true},
		{"http://[::1]:8080/checkout/cs_1", true},
		{"http://app.flowglad.com/checkout/cs_1", false},
		{"http://localhost.evil.example/checkout/cs_1", false},
		{"http://127.0.0.1.nip.io/checkout/cs_1", false},
		{"javascript:alert(document.cookie)", false},
		{"JavaScript:alert(1)//https://app.flowglad.com", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"vbscript:msgbox(1)", false},
		{"https://app.flowglad.com@evil.example/", false},
		{`https://evil.example\@app.flowglad.com/`, false},
		{"//evil.example/checkout", false},
		{"/checkout/cs_1", false},
		{"https:///checkout", false},
		{"ftp://app.flowglad.com/", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"checkoutSession": map[string]any{"id": "cs_1"}, "url": tc.url})
			require.NoError(t, err)
			cs, err := flowgladapi.DecodeCheckoutSession(body)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, tc.url, cs.URL)
				return
			}
			assert.ErrorIs(t, err, flowgladapi.ErrInvalidResponse)
			assert.Nil(t, cs)
			if err != nil {
				assert.NotContains(t, err.Error(), tc.url, "the URL is not repeated")
			}
		})
	}
}
