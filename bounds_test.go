package flowglad_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxErrorAnswer is the most an error answer may weigh, whatever the request.
const maxErrorAnswer = 64 << 10

// hostileArray is a JSON array of n copies of item.
func hostileArray(item string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
}

// TestInvalidBodyIsBounded: a body with a huge number of faults gets an answer of bounded
// size that lists the first issues once and counts the rest, without any Flowglad call. A
// signed-in user must not be able to make the server build megabytes per request.
func TestInvalidBodyIsBounded(t *testing.T) {
	t.Parallel()
	items := 300_000 // a body of about 600 KB, under the default MaxBodyBytes
	if raceEnabled {
		items = 30_000 // the same hostile shapes, smaller: ten times faster under -race
	}
	unknownKeys := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", 40) + `_` + strconv.Itoa(i) + `":1`)
		}
		b.WriteString("}")
		return b.String()
	}
	longKey := `{"` + strings.Repeat("k", 500_000) + `":1}`
	cases := []struct {
		name, key, body string
	}{
		{"claim externalIds", "resources/claim", `{"resourceSlug":"seats","externalIds":` + hostileArray("1", items) + `}`},
		{"release claimIds", "resources/release", `{"resourceSlug":"seats","claimIds":` + hostileArray("1", items) + `}`},
		{"adjust items", "subscriptions/adjust", `{"subscriptionItems":` + hostileArray("1", items) + `}`},
		{"strict unknown keys", "features/access", unknownKeys(20_000)},
		{"one long unknown key", "customerDetails", longKey},
		{"metadata values", "resources/claim", `{"resourceSlug":"seats","quantity":1,"metadata":` + metadataObject(15_000) + `}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			require.LessOrEqual(t, len(tc.body), 1<<20, "the body fits MaxBodyBytes")
			r := env.post(userAlice, tc.key, tc.body)
			j := r.assertError(t, http.StatusBadRequest, "invalid_body")
			assert.LessOrEqual(t, len(r.Body), maxErrorAnswer, "answer of %d bytes to a %d-byte body", len(r.Body), len(tc.body))
			issues, _ := j["issues"].([]any)
			assert.NotEmpty(t, issues)
			assert.LessOrEqual(t, len(issues), 20)
			if len(issues) == 20 {
				assert.Greater(t, j["omittedIssues"], float64(0), "the issues not listed are counted")
			}
			for _, is := range issues {
				path, _ := is.(map[string]any)["path"].(string)
				assert.LessOrEqual(t, len(path), 103, "an echoed path is clipped")
			}
			assert.Empty(t, env.calls(), "no Flowglad call for an invalid body")
		})
	}
}

// TestIDsOverLimitRefused: ids longer than 255 characters are refused at validation, before
// any Flowglad call, and the answer does not echo them whole.
func TestIDsOverLimitRefused(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("s", 256)
	cases := []struct{ key, body, path string }{
		{"subscriptions/cancel", `{"id":"` + long + `","cancellation":{"timing":"immediately"}}`, "id"},
		{"subscriptions/uncancel", `{"id":"` + long + `"}`, "id"},
		{"subscriptions/adjust", `{"priceSlug":"pro","subscriptionId":"` + long + `"}`, "subscriptionId"},
		{"usage-events/create", `{"usageMeterSlug":"` + long + `"}`, "usageMeterSlug"},
		{"resources/claims", `{"subscriptionId":"` + long + `"}`, "subscriptionId"},
		{"checkout-sessions/create", `{"priceSlug":"` + long + `","successUrl":"https://a.example/s","cancelUrl":"https://a.example/c"}`, "priceSlug"},
		{"checkout-sessions/create-activate-subscription", `{"targetSubscriptionId":"` + long + `","successUrl":"https://a.example/s","cancelUrl":"https://a.example/c"}`, "targetSubscriptionId"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			env := newEnv(t)
			r := env.post(userAlice, tc.key, tc.body)
			j := r.assertError(t, http.StatusBadRequest, "invalid_body")
			assert.Contains(t, string(r.Body), `"path":"`+tc.path+`"`)
			assert.NotContains(t, string(r.Body), long)
			assert.Len(t, j["issues"], 1)
			assert.Empty(t, env.calls())
		})
	}
}

func metadataObject(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"m` + strconv.Itoa(i) + `":[1]`)
	}
	b.WriteString("}")
	return b.String()
}
