package middleware

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"

	"github.com/flowglad-go/flowglad"
	"github.com/flowglad-go/flowglad/flowgladapi"
)

// slugRef names what a middleware was built with: a toggle feature or a usage meter.
type slugRef struct {
	kind string // kindFeature or kindUsageMeter, as the log line says it
	slug string
}

const (
	kindFeature    = "feature"
	kindUsageMeter = "usage meter"
)

// slugKey identifies a slug checked for one Service (against the pricing model of the
// first customer refused on it).
type slugKey struct {
	svc *flowglad.Service
	ref slugRef
}

// checkedSlugs records, per process, the slugs already checked against the pricing
// model: a known slug is not checked again, an unknown one is logged once. It is the
// package's only shared state, a log de-duplication that changes no answer: a refusal
// must stay free of extra work after the first, and one line per misspelled slug is
// what an operator can act on (one per request would drown the log).
var checkedSlugs sync.Map // slugKey -> struct{}

// reportUnknown logs, once per process and slug, that a gate refused a request because
// its slug does not exist in the customer's pricing model ("usage meter \"generations\"
// does not exist in the pricing model"): a misspelled meter makes RequireUsageBalance
// answer 402 to everyone, a misspelled feature 403. It runs only on a refusal, and reads
// the billing the request already read (no Flowglad call); a pricing model that could
// not be read proves nothing and is not reported.
func reportUnknown(ctx context.Context, log *slog.Logger, svc *flowglad.Service, c flowglad.Customer, ref slugRef) {
	key := slugKey{svc: svc, ref: ref}
	if _, done := checkedSlugs.Load(key); done {
		return // checked before: nothing is read again
	}
	b, err := svc.Billing(ctx, c)
	if err != nil || len(b.PricingModel.Raw) == 0 {
		return
	}
	known := hasUsageMeter(b, ref.slug)
	if ref.kind == kindFeature {
		known = hasFeature(b, ref.slug)
	}
	if _, done := checkedSlugs.LoadOrStore(key, struct{}{}); done || known {
		return
	}
	log.LogAttrs(ctx, slog.LevelError, "flowglad: "+ref.kind+" "+strconv.Quote(ref.slug)+" does not exist in the pricing model; every request is refused: check the slug",
		slog.String("slug", ref.slug), slog.String("kind", ref.kind), slog.String("pricing_model", b.PricingModel.ID))
}

// hasUsageMeter reports whether the pricing model has the usage meter slug.
func hasUsageMeter(b *flowgladapi.Billing, slug string) bool {
	for _, m := range b.PricingModel.UsageMeters {
		if m.Slug == slug {
			return true
		}
	}
	return false
}

// hasFeature reports whether a product of the pricing model has the feature slug
// (products[].features[].slug: the typed view does not decode features).
func hasFeature(b *flowgladapi.Billing, slug string) bool {
	for _, p := range b.PricingModel.Products {
		var v struct {
			Features []struct {
				Slug string `json:"slug"`
			} `json:"features"`
		}
		if json.Unmarshal(p.Raw, &v) != nil {
			return true // unreadable: not proof that the slug is missing
		}
		for _, f := range v.Features {
			if f.Slug == slug {
				return true
			}
		}
	}
	return false
}
