package flowgladapitest

import "net/http"

// GET /api/v1/pricing-models/default
func (f *Fake) getDefaultPricingModel(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		return map[string]any{"pricingModel": f.pricingModelJSON()}, nil
	})
}

// GET /api/v1/pricing-models/{id}
func (f *Fake) getPricingModel(w http.ResponseWriter, r *http.Request) {
	f.handle(w, r, func(int64) (any, *apiError) {
		if r.PathValue("id") != f.st.pm.id {
			return nil, notFound("Pricing model not found")
		}
		return map[string]any{"pricingModel": f.pricingModelJSON()}, nil
	})
}
