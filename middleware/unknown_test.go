package middleware_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnknownSlugLoggedOnce: a gate built with a slug the pricing model does not have
// refuses everyone (a misspelled meter 402, a misspelled feature 403): the first refusal
// logs one Error naming it, per slug, whichever middleware refused; a refusal for a slug
// that exists logs nothing of the kind, and the happy path reads nothing more.
func TestUnknownSlugLoggedOnce(t *testing.T) {
	e := newEnv(t)
	balance := middleware.RequireUsageBalance(e.h, "generations", 1)(&ok{})
	balance2 := middleware.RequireUsageBalance(e.h, "generations", 5)(&ok{})
	feature := middleware.RequireFeature(e.h, "premum")(&ok{})
	for range 3 {
		assert.Equal(t, http.StatusPaymentRequired, e.serve(balance, "alice").Code)
		assert.Equal(t, http.StatusPaymentRequired, e.serve(balance2, "bob").Code)
		assert.Equal(t, http.StatusForbidden, e.serve(feature, "alice").Code)
	}
	// Refusals for slugs that exist.
	assert.Equal(t, http.StatusForbidden, e.serve(middleware.RequireFeature(e.h, "premium")(&ok{}), "bob").Code)
	assert.Equal(t, http.StatusPaymentRequired, e.serve(middleware.RequireUsageBalance(e.h, "api-calls", 1e9)(&ok{}), "bob").Code)

	logs := e.logs.String()
	assert.Equal(t, 1, strings.Count(logs, `usage meter \"generations\" does not exist in the pricing model`), logs)
	assert.Equal(t, 1, strings.Count(logs, `feature \"premum\" does not exist in the pricing model`), logs)
	assert.Equal(t, 2, strings.Count(logs, "does not exist in the pricing model"), "nothing for slugs that exist")
	for _, l := range e.logLines() {
		if containsStr(l["msg"], "does not exist") {
			assert.Equal(t, "ERROR", l["level"])
			assert.Equal(t, "pm_demo", l["pricing_model"])
		}
	}

	t.Run("a meter that cannot record", func(t *testing.T) {
		e := newEnv(t)
		e.serve(middleware.MeterUsage(e.h, "generations")(&ok{}), "alice")
		e.serve(middleware.MeterUsage(e.h, "generations")(&ok{}), "alice")
		logs := e.logs.String()
		assert.Equal(t, 2, strings.Count(logs, "recording usage failed"))
		assert.Equal(t, 1, strings.Count(logs, `usage meter \"generations\" does not exist in the pricing model`), logs)
	})
	t.Run("the happy path reads nothing more", func(t *testing.T) {
		e := newEnv(t)
		e.fake.ResetRequests()
		assert.Equal(t, http.StatusOK, e.serve(middleware.RequireFeature(e.h, "premium")(&ok{}), "alice").Code)
		assert.Equal(t, []string{"GET /api/v1/customers/user_alice/billing"}, e.calls())
	})
}

// TestCheckKnowsTheMiddlewaresSlugs: every slug a middleware is built with is registered on
// the Service, so that Check, at startup, names the misspelled ones.
func TestCheckKnowsTheMiddlewaresSlugs(t *testing.T) {
	e := newEnv(t)
	middleware.RequireFeature(e.h, "premium")
	middleware.RequireUsageBalance(e.h, "api-calls", 1)
	require.NoError(t, e.h.Service().Check(t.Context()), "slugs that exist")

	middleware.RequireFeature(e.h, "premum")
	middleware.RequireUsageBalance(e.h, "generations", 1)
	middleware.MeterUsage(e.h, "gpu-minutes")
	err := e.h.Service().Check(t.Context())
	require.Error(t, err)
	var unknown []string
	for _, one := range err.(interface{ Unwrap() []error }).Unwrap() {
		var u *flowglad.UnknownSlugError
		if errors.As(one, &u) {
			unknown = append(unknown, u.Kind+" "+u.Slug)
		}
	}
	assert.ElementsMatch(t, []string{"feature premum", "usage meter generations", "usage meter gpu-minutes"}, unknown)
}
