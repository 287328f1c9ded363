package flowglad_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
	"github.com/flowglad-go/flowglad/flowgladapi/flowgladapitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pricingModelGet = "GET /api/v1/pricing-models/default"

// TestCheck: one cheap call verifies the key and every slug code relies on, and the error
// names each problem.
func TestCheck(t *testing.T) {
	t.Parallel()
	const wrongKey = "sk_test_q7ZxW3rvKp9L"
	cases := []struct {
		name     string
		key      string
		fault    *flowgladapitest.Fault
		features []string
		meters   []string
		wantKey  bool     // the key is refused
		unknown  []string // "kind slug", in order
		wantErr  error    // another failure, matched with errors.Is
	}{
		{name: "nothing expected"},
		{name: "every slug known", features: []string{"premium", "basic", "sso"}, meters: []string{"api-calls"}},
		{name: "a usage-credit feature is a feature", features: []string{flowgladapitest.DemoFeatureProAPICalls}},
		{
			name: "misspelled slugs, each named", features: []string{"premium", "premuim", "api-calls"}, meters: []string{"generations", "api-calls", "premium"},
			unknown: []string{"feature api-calls", "feature premuim", "usage meter generations", "usage meter premium"},
		},
		{name: "a wrong key", key: wrongKey, features: []string{"premuim"}, wantKey: true},
		{name: "Flowglad down", fault: &flowgladapitest.Fault{Status: 503}, meters: []string{"api-calls"}, wantErr: flowgladapi.ErrServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, withConfig(func(c *flowglad.Config) { c.APIKey = tc.key }))
			for _, s := range tc.features {
				env.h.Service().ExpectFeature(s)
			}
			for _, s := range tc.meters {
				env.h.Service().ExpectUsageMeter(s)
			}
			for _, check := range []struct {
				name string
				run  func(context.Context) error
			}{{"Handler", env.h.Check}, {"Service", env.h.Service().Check}} {
				if tc.fault != nil {
					f := *tc.fault
					f.Method, f.Path = "GET", "/api/v1/pricing-models/default"
					env.fake.FailNext(3, f) // the call and its retries

				}
				err := check.run(t.Context())
				calls := env.calls()
				require.NotEmpty(t, calls, check.name)
				for _, c := range calls {
					assert.Equal(t, pricingModelGet, c, "%s: one cheap call (retried on failures only)", check.name)
				}
				switch {
				case tc.wantKey:
					assert.ErrorIs(t, err, flowglad.ErrAPIKeyRejected, check.name)
					assert.ErrorIs(t, err, flowgladapi.ErrUnauthorized, "Flowglad's own answer stays reachable")
					secret := wrongKey[len("sk_test_"):]
					for i := 0; i+4 <= len(secret); i++ {
						assert.NotContains(t, err.Error(), secret[i:i+4], "no fragment of the key")
					}
					var u *flowglad.UnknownSlugError
					assert.False(t, errors.As(err, &u), "slugs are not judged with a refused key")
				case tc.wantErr != nil:
					assert.ErrorIs(t, err, tc.wantErr, check.name)
					assert.NotErrorIs(t, err, flowglad.ErrAPIKeyRejected, "an outage is not a key problem")
				case tc.unknown == nil:
					assert.NoError(t, err, check.name)
				default:
					require.Error(t, err, check.name)
					joined, ok := err.(interface{ Unwrap() []error })
					require.True(t, ok, "one error per problem, joined: %T", err)
					var got []string
					for _, e := range joined.Unwrap() {
						var u *flowglad.UnknownSlugError
						require.ErrorAs(t, e, &u)
						got = append(got, u.Kind+" "+u.Slug)
						assert.Contains(t, err.Error(), strconv.Quote(u.Slug), "the text names the slug")
					}
					assert.Equal(t, tc.unknown, got, check.name)
				}
			}
		})
	}
}

// TestCheckConcurrentExpect: slugs may be recorded while Check runs (middleware built on
// other goroutines); run with -race.
func TestCheckConcurrentExpect(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	svc := env.h.Service()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			svc.ExpectFeature("premium")
			svc.ExpectUsageMeter("meter-" + strconv.Itoa(i))
			_ = svc.Check(context.Background())
		})
	}
	wg.Wait()
	err := svc.Check(t.Context())
	var u *flowglad.UnknownSlugError
	require.ErrorAs(t, err, &u)
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 8, "every recorded meter is checked")
}

// Check the configuration at startup: the key and the slugs the code relies on (the
// middleware records its own). Here a meter is misspelled.
func ExampleService_Check() {
	fake := httptest.NewServer(flowgladapitest.New(flowgladapitest.WithSeed(flowgladapitest.DemoSeed())))
	defer fake.Close()
	svc, err := flowglad.NewService(flowglad.Config{APIKey: flowgladapitest.DefaultAPIKey, BaseURL: fake.URL})
	if err != nil {
		log.Fatal(err)
	}
	svc.ExpectFeature("premium")
	svc.ExpectUsageMeter("generations")
	if err := svc.Check(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// flowglad: unknown usage meter "generations": the default pricing model has no such usage meter
}

// TestCheckRateLimitedKeyIsNotRejected: live Flowglad answers a rate-limited key with 401.
// A Check run again after the key has worked (a health probe) and answered 401 is rate
// limiting, an outage to retry, not ErrAPIKeyRejected telling the operator to change a
// key that is fine.
func TestCheckRateLimitedKeyIsNotRejected(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	svc := env.h.Service()
	require.NoError(t, svc.Check(t.Context()), "the key works")
	env.fake.FailNext(3, flowgladapitest.Fault{Method: "GET", Path: "/api/v1/pricing-models/default", Status: 401})
	err := svc.Check(t.Context())
	require.Error(t, err)
	assert.NotErrorIs(t, err, flowglad.ErrAPIKeyRejected, "a key that has worked is rate limited, not refused")
	assert.ErrorIs(t, err, flowgladapi.ErrRateLimited)
}
