package flowglad

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ErrAPIKeyRejected is what Check returns (wrapped with Flowglad's own error) when
// Flowglad refuses the API key: a wrong key, one of another organization, a revoked one,
// or a key of the wrong mode (test against live). The text never holds any part of the
// key.
var ErrAPIKeyRejected = errors.New("flowglad: Flowglad refused the API key: check Config.APIKey or FLOWGLAD_SECRET_KEY " +
	"(the secret key, sk_test_... or sk_live_..., of the organization and mode you use)")

// Kinds of slug an UnknownSlugError names.
const (
	SlugKindFeature    = "feature"
	SlugKindUsageMeter = "usage meter"
)

// UnknownSlugError is a slug that code relies on (ExpectFeature, ExpectUsageMeter, the
// middleware's constructors) and that the pricing model does not have: a misspelled meter
// makes every balance check fail (402 to everyone), a misspelled feature every access
// check (403).
type UnknownSlugError struct {
	// Kind is SlugKindFeature or SlugKindUsageMeter.
	Kind string
	// Slug is the slug as the code gave it.
	Slug string
}

// Error implements error.
func (e *UnknownSlugError) Error() string {
	where := "no product of the default pricing model grants it"
	if e.Kind == SlugKindUsageMeter {
		where = "the default pricing model has no such usage meter"
	}
	return "flowglad: unknown " + e.Kind + " " + strconv.Quote(clip(e.Slug)) + ": " + where
}

// keyRejected is Flowglad's refusal of the key, matching both ErrAPIKeyRejected and
// Flowglad's *flowgladapi.Error.
type keyRejected struct{ err error }

func (e *keyRejected) Error() string { return ErrAPIKeyRejected.Error() + " (" + e.err.Error() + ")" }

func (e *keyRejected) Unwrap() []error { return []error{ErrAPIKeyRejected, e.err} }

// expectations are the slugs code relies on, checked by Check.
type expectations struct {
	mu               sync.Mutex
	features, meters map[string]bool
}

func (x *expectations) add(m *map[string]bool, slug string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if *m == nil {
		*m = map[string]bool{}
	}
	(*m)[slug] = true
}

// ExpectFeature records that code relies on the feature slug (a feature gate), so that
// Check verifies the pricing model has it. The middleware's RequireFeature calls it; call
// it for a slug your own code checks with Billing's CheckFeatureAccess. It is safe for
// concurrent use and makes no call.
func (s *Service) ExpectFeature(slug string) { s.expect.add(&s.expect.features, slug) }

// ExpectUsageMeter records that code relies on the usage meter slug (a balance gate, a
// meter), so that Check verifies the pricing model has it. The middleware's
// RequireUsageBalance and MeterUsage call it. It is safe for concurrent use and makes no
// call.
func (s *Service) ExpectUsageMeter(slug string) { s.expect.add(&s.expect.meters, slug) }

// Check verifies the configuration against Flowglad with one call, GET
// /api/v1/pricing-models/default: that Flowglad accepts the API key, and that every slug
// given to ExpectFeature and ExpectUsageMeter (the middleware's included) exists in the
// default pricing model, the one new customers get. Call it at startup, after building the
// middleware, and refuse to start (or alert) on an error.
//
// The error names each problem: an error matching ErrAPIKeyRejected when the key is
// refused (the slugs are then unknown: fix the key first), else one *UnknownSlugError per
// unknown slug, joined (errors.Join; errors.As finds the first). Any other failure (an
// outage, a timeout, rate limiting: a 401 once the key has worked in this process) is
// returned wrapped, as the client reports it. Nothing is cached:
// every call asks Flowglad.
func (s *Service) Check(ctx context.Context) error {
	body, err := s.client.GetDefaultPricingModel(ctx)
	if err != nil {
		var apiErr *flowgladapi.Error
		// A 401 to a key that has worked in this process is Flowglad rate limiting it (a
		// health probe calling Check again): an outage, not a key to change.
		if errors.As(err, &apiErr) && !apiErr.RateLimited() && (apiErr.StatusCode == 401 || apiErr.StatusCode == 403) {
			return &keyRejected{err: err}
		}
		return fmt.Errorf("flowglad: check: reading the default pricing model: %w", err)
	}
	var pm struct {
		PricingModel struct {
			Products []struct {
				Features []struct {
					Slug string `json:"slug"`
				} `json:"features"`
			} `json:"products"`
			UsageMeters []struct {
				Slug string `json:"slug"`
			} `json:"usageMeters"`
		} `json:"pricingModel"`
	}
	if err := json.Unmarshal(body, &pm); err != nil {
		return fmt.Errorf("flowglad: check: reading the default pricing model: %w: %w", flowgladapi.ErrInvalidResponse, err)
	}
	features, meters := map[string]bool{}, map[string]bool{}
	for _, p := range pm.PricingModel.Products {
		for _, f := range p.Features {
			features[f.Slug] = true
		}
	}
	for _, m := range pm.PricingModel.UsageMeters {
		meters[m.Slug] = true
	}

	var unknown []*UnknownSlugError
	s.expect.mu.Lock()
	for slug := range s.expect.features {
		if !features[slug] {
			unknown = append(unknown, &UnknownSlugError{Kind: SlugKindFeature, Slug: slug})
		}
	}
	for slug := range s.expect.meters {
		if !meters[slug] {
			unknown = append(unknown, &UnknownSlugError{Kind: SlugKindUsageMeter, Slug: slug})
		}
	}
	s.expect.mu.Unlock()
	slices.SortFunc(unknown, func(a, b *UnknownSlugError) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Slug, b.Slug))
	})
	errs := make([]error, len(unknown))
	for i, u := range unknown {
		errs[i] = u
	}
	return errors.Join(errs...)
}

// Check is h.Service().Check: it verifies the API key and the slugs the middleware built on
// h relies on.
func (h *Handler) Check(ctx context.Context) error { return h.svc.Check(ctx) }
