package flowglad_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerTransactionID: the stored id of server code is reserved, per customer,
// deterministic, readable when it fits and within Flowglad's 255 characters always.
func TestServerTransactionID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("j", 300)
	wide := strings.Repeat("é", 200) // 2 bytes each: 400 bytes, 200 runes
	cases := []struct {
		name         string
		customer, id string
		want         string // "" when only the properties are checked
	}{
		{"readable", "user_alice", "job-42", "fgs:10:user_alice:job-42"},
		{"customer with the separator", "a:b", "c", "fgs:3:a:b:c"},
		{"id with the separator", "a", "b:c", "fgs:1:a:b:c"},
		{"browser-like id", "user_alice", "fgs:1:x:y", "fgs:10:user_alice:fgs:1:x:y"},
		{"exactly 255 bytes", "u", strings.Repeat("x", 255-len("fgs:1:u:")), "fgs:1:u:" + strings.Repeat("x", 255-len("fgs:1:u:"))},
		{"long id", "user_alice", long, ""},
		{"long customer", strings.Repeat("c", 255), "job-1", ""},
		{"multibyte id", "user_alice", wide, ""},
		{"empty id", "user_alice", "", "fgs:10:user_alice:"},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := flowglad.ServerTransactionID(tc.customer, tc.id)
			if tc.want != "" {
				assert.Equal(t, tc.want, got)
			}
			assert.True(t, strings.HasPrefix(got, "fgs:"), "reserved prefix: %q", got)
			assert.LessOrEqual(t, len(got), 255, "Flowglad's limit, in bytes (hence runes and UTF-16 units)")
			assert.True(t, utf8.ValidString(got), "never a split rune: %q", got)
			assert.Equal(t, got, flowglad.ServerTransactionID(tc.customer, tc.id), "deterministic")
			assert.NotEqual(t, got, flowglad.ServerTransactionID(tc.customer+"x", tc.id), "another customer, another id")
			assert.NotEqual(t, got, flowglad.ServerTransactionID(tc.customer, tc.id+"x"), "another id, another stored id")
			if len(got) == 255 && tc.want == "" {
				assert.True(t, strings.HasPrefix(got, "fgs:h:"), "digest form: %q", got)
				assert.Contains(t, got, tc.id[:20], "the digest form keeps the start of the caller's id")
			}
			key := tc.customer + "\x00" + tc.id
			for k, v := range seen {
				assert.False(t, v == got && k != key, "%q and %q collide", k, key)
			}
			seen[key] = got
		})
	}
	t.Run("digest form of the long cases", func(t *testing.T) {
		for _, c := range [][2]string{{"user_alice", long}, {strings.Repeat("c", 255), "job-1"}, {"user_alice", wide}} {
			got := flowglad.ServerTransactionID(c[0], c[1])
			assert.True(t, strings.HasPrefix(got, "fgs:h:"), "%q", got)
			assert.True(t, strings.HasPrefix(got[len("fgs:h:")+64:], ":"+c[1][:min(len(c[1]), 10)]), "the id follows the digest: %q", got)
		}
	})
}

// TestUsageEventTransactionIDSources: ids chosen by server code and ids sent by browsers
// live in separate key spaces, and the server's are per customer (issue 16).
func TestUsageEventTransactionIDSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	alice := testUsers[userAlice]
	bob := testUsers[userBob]

	t.Run("a browser cannot pre-claim a middleware's id", func(t *testing.T) {
		env := newEnv(t)
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 1, "transactionId": "job-42"}`).data(t)
		generate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.SetTransactionID(r.Context(), "job-42")
			middleware.SetUsage(r.Context(), 50)
			w.WriteHeader(http.StatusOK)
		})
		srv := httptest.NewServer(middleware.MeterUsage(env.h, flowgladapitest.DemoUsageMeterAPICalls)(generate))
		t.Cleanup(srv.Close)
		req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("X-Test-User", userAlice)
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, float64(aliceCredits-51), aliceBalance(t, env), "both events count")
		var ids []string
		for _, e := range env.fake.UsageEvents() {
			ids = append(ids, e.TransactionID)
		}
		assert.ElementsMatch(t, []string{"job-42", flowglad.ServerTransactionID(userAlice, "job-42")}, ids,
			"the browser's id as it gave it, the server's in the reserved form")
	})
	t.Run("a browser cannot pre-claim a Service caller's id", func(t *testing.T) {
		env := newEnv(t)
		env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "amount": 1, "transactionId": "job-42"}`).data(t)
		ev, err := env.h.Service().CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 50, TransactionID: "job-42"})
		require.NoError(t, err)
		assert.Equal(t, flowglad.ServerTransactionID(userAlice, "job-42"), ev.TransactionID)
		assert.Equal(t, float64(aliceCredits-51), aliceBalance(t, env))
	})
	t.Run("two customers with the same job id are both billed", func(t *testing.T) {
		env := newEnv(t)
		svc := env.h.Service()
		bobBefore, ok := env.fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, flowgladapitest.DemoUsageMeterAPICalls)
		require.True(t, ok)
		_, err := svc.CreateUsageEvent(ctx, alice, flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 3, TransactionID: "nightly-7"})
		require.NoError(t, err)
		_, err = svc.BulkCreateUsageEvents(ctx, bob, []flowglad.UsageEventParams{{UsageMeterSlug: "api-calls", Amount: 2, TransactionID: "nightly-7"}})
		require.NoError(t, err)
		assert.Equal(t, float64(aliceCredits-3), aliceBalance(t, env))
		bobAfter, _ := env.fake.UsageBalance(flowgladapitest.DemoBobSubscriptionID, flowgladapitest.DemoUsageMeterAPICalls)
		assert.Equal(t, bobBefore-2, bobAfter)
		assert.Len(t, env.fake.UsageEvents(), 2)
	})
	t.Run("a retried job counts once", func(t *testing.T) {
		env := newEnv(t)
		svc := env.h.Service()
		p := flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 4, TransactionID: "job-9"}
		_, err := svc.CreateUsageEvent(ctx, alice, p)
		require.NoError(t, err)
		_, err = svc.BulkCreateUsageEvents(ctx, alice, []flowglad.UsageEventParams{p})
		require.NoError(t, err)
		assert.Len(t, env.fake.UsageEvents(), 1, "Service and bulk store the same id")
		assert.Equal(t, float64(aliceCredits-4), aliceBalance(t, env))
	})
	t.Run("the reserved form is refused from a browser", func(t *testing.T) {
		env := newEnv(t)
		for _, tx := range []string{flowglad.ServerTransactionID(userAlice, "job-42"), "FGS:anything", "fgs:"} {
			res := env.post(userAlice, "usage-events/create", `{"usageMeterSlug": "api-calls", "transactionId": "`+tx+`"}`)
			j := res.assertError(t, http.StatusBadRequest, flowglad.CodeInvalidBody)
			assert.Contains(t, j, "issues")
			assert.Contains(t, string(res.Body), `"transactionId"`, "the issue names the field")
		}
		assert.Empty(t, env.calls(), "no Flowglad call")
		assert.Empty(t, env.fake.UsageEvents())
	})
	t.Run("a meter failure replayed through the Service lands on the same id", func(t *testing.T) {
		env := newEnv(t)
		// Flowglad records the event each time but no answer comes back: the outcome is
		// unknown, and the replay must not count it again.
		env.fake.FailNext(3, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/usage-events", Status: 502, AfterApply: true})
		var failures []middleware.MeterFailure
		generate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.SetUsage(r.Context(), 5)
			w.WriteHeader(http.StatusOK)
		})
		h := middleware.MeterUsage(env.h, flowgladapitest.DemoUsageMeterAPICalls, middleware.OnMeterFailure(func(_ context.Context, f middleware.MeterFailure) {
			failures = append(failures, f)
		}))(generate)
		req := httptest.NewRequest(http.MethodPost, "/api/generate", nil)
		req.Header.Set("X-Test-User", userAlice)
		h.ServeHTTP(httptest.NewRecorder(), req)
		require.Len(t, failures, 1)
		require.Len(t, env.fake.UsageEvents(), 1)
		stored := env.fake.UsageEvents()[0].TransactionID
		assert.Equal(t, flowglad.ServerTransactionID(userAlice, failures[0].Params.TransactionID), stored)

		ev, err := env.h.Service().CreateUsageEvent(ctx, failures[0].Customer, failures[0].Params)
		require.NoError(t, err)
		assert.Equal(t, stored, ev.TransactionID)
		assert.Len(t, env.fake.UsageEvents(), 1, "the replay is the same event")
		assert.Equal(t, float64(aliceCredits-5), aliceBalance(t, env), "counted once")
	})
	t.Run("a Service failure replayed with its error's id counts once", func(t *testing.T) {
		env := newEnv(t)
		env.fake.FailNext(3, flowgladapitest.Fault{Method: "POST", Path: "/api/v1/usage-events", Status: 502, AfterApply: true})
		p := flowglad.UsageEventParams{UsageMeterSlug: "api-calls", Amount: 6}
		_, err := env.h.Service().CreateUsageEvent(ctx, alice, p)
		var ue *flowglad.UsageEventError
		require.ErrorAs(t, err, &ue)
		require.Len(t, env.fake.UsageEvents(), 1)
		assert.Equal(t, flowglad.ServerTransactionID(userAlice, ue.TransactionID), env.fake.UsageEvents()[0].TransactionID)
		p.TransactionID = ue.TransactionID
		_, err = env.h.Service().CreateUsageEvent(ctx, alice, p)
		require.NoError(t, err)
		assert.Len(t, env.fake.UsageEvents(), 1)
		assert.Equal(t, float64(aliceCredits-6), aliceBalance(t, env))
	})
}
