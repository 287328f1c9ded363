package flowglad_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newcomerAuth signs in "new_<n>" as a customer Flowglad does not know yet, and everyone
// else as testAuth does.
var newcomerAuth = flowglad.AuthenticatorFunc(func(r *http.Request) (flowglad.Customer, error) {
	if u := r.Header.Get("X-Test-User"); strings.HasPrefix(u, "new_") {
		return flowglad.Customer{ExternalID: u, Name: "Newcomer", Email: u + "@example.com"}, nil
	}
	return testAuth(r)
})

// TestConcurrentFirstVisits: many requests of new customers at once, on every key that
// creates the customer when Flowglad does not know it, create each customer once (the
// creation is shared while it runs, and a request whose "not found" raced with it does not
// create again), and every request gets the answer it would get alone.
func TestConcurrentFirstVisits(t *testing.T) {
	t.Parallel()
	const customers, perKey = 8, 8
	env := newEnv(t, withConfig(func(c *flowglad.Config) { c.Auth = newcomerAuth }))
	env.fake.SetLatency(burstLatency)

	type call struct {
		key, body string
		check     func(t *testing.T, d map[string]any)
	}
	calls := []call{
		{"customers/billing", `{}`, func(t *testing.T, d map[string]any) {
			assert.NotEmpty(t, objectAt(t, d, "customer")["id"])
		}},
		{"customers/find-or-create", `{}`, func(t *testing.T, d map[string]any) {
			assert.NotEmpty(t, objectAt(t, d, "customer")["id"])
		}},
		{"checkout-sessions/create", `{"priceSlug": "pro-monthly", "successUrl": "https://app.example/ok", "cancelUrl": "https://app.example/no"}`,
			func(t *testing.T, d map[string]any) {
				assert.NotEmpty(t, objectAt(t, d, "checkoutSession")["id"])
				assert.NotEmpty(t, d["url"])
			}},
		{"usage-meters/balances", `{}`, func(t *testing.T, d map[string]any) {
			assert.Len(t, d["usageMeterBalances"], 1, "the free plan's credits")
		}},
		{"usage-events/create", `{"usageMeterSlug": "api-calls"}`, func(t *testing.T, d map[string]any) {
			assert.NotEmpty(t, objectAt(t, d, "usageEvent")["id"])
		}},
		{"features/access", `{}`, func(t *testing.T, d map[string]any) {
			assert.NotEmpty(t, d["features"])
		}},
		{"subscriptions/list", `{}`, func(t *testing.T, d map[string]any) {
			assert.Len(t, d["currentSubscriptions"], 1, "the free plan")
		}},
		{"pricing-models/retrieve", `{}`, func(t *testing.T, d map[string]any) {
			assert.Equal(t, "customer", d["source"])
		}},
	}
	var reqs []request
	var checks []call
	for n := range customers {
		for range perKey {
			for _, c := range calls {
				reqs = append(reqs, request{user: fmt.Sprintf("new_%d", n), key: c.key, body: c.body})
				checks = append(checks, c)
			}
		}
	}
	require.Len(t, reqs, customers*64)

	for i, res := range fireTogether(env, reqs) {
		t.Run(fmt.Sprintf("%d %s %s", i, reqs[i].user, reqs[i].key), func(t *testing.T) {
			checks[i].check(t, res.data(t))
		})
	}

	creates := 0
	for _, c := range env.calls() {
		if c == "POST /api/v1/customers" {
			creates++
		}
	}
	assert.Equal(t, customers, creates, "one creation per new customer")
	for n := range customers {
		_, ok := env.fake.Customer(fmt.Sprintf("new_%d", n))
		assert.True(t, ok, "new_%d exists", n)
	}
}
