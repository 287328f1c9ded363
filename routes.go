package flowglad

import (
	"context"
	"encoding/json"

	"github.com/flowglad-go/flowglad/flowgladapi"
)

// ActionKey names one action of the /api/flowglad route: the request path after the base
// path. Keys are matched exactly and case-sensitively.
type ActionKey string

// The action keys of Flowglad's React SDK: every key of its FlowgladActionKey.
const (
	ActionCustomersBilling                     ActionKey = "customers/billing"
	ActionCustomersFindOrCreate                ActionKey = "customers/find-or-create"
	ActionCustomersUpdate                      ActionKey = "customers/update"
	ActionCheckoutSessionsCreate               ActionKey = "checkout-sessions/create"
	ActionCheckoutSessionsAddPaymentMethod     ActionKey = "checkout-sessions/create-add-payment-method"
	ActionCheckoutSessionsActivateSubscription ActionKey = "checkout-sessions/create-activate-subscription"
	ActionSubscriptionsCancel                  ActionKey = "subscriptions/cancel"
	ActionSubscriptionsUncancel                ActionKey = "subscriptions/uncancel"
	ActionSubscriptionsAdjust                  ActionKey = "subscriptions/adjust"
	ActionSubscriptionsCreate                  ActionKey = "subscriptions/create"
	ActionSubscriptionsList                    ActionKey = "subscriptions/list"
	ActionUsageEventsCreate                    ActionKey = "usage-events/create"
	ActionResourcesUsages                      ActionKey = "resources/usages"
	ActionResourcesUsage                       ActionKey = "resources/usages/retrieve"
	ActionResourcesClaim                       ActionKey = "resources/claim"
	ActionResourcesRelease                     ActionKey = "resources/release"
	ActionResourcesClaims                      ActionKey = "resources/claims"
	ActionPricingModelsRetrieve                ActionKey = "pricing-models/retrieve"
	ActionUsageMetersBalances                  ActionKey = "usage-meters/balances"
	ActionFeaturesAccess                       ActionKey = "features/access"
	ActionPaymentMethodsList                   ActionKey = "payment-methods/list"
	ActionCustomerDetails                      ActionKey = "customerDetails"
	ActionInvoicesList                         ActionKey = "invoices/list"
	ActionPurchasesList                        ActionKey = "purchases/list"
)

// ActionKeys returns the action keys the handler serves: every key of the React SDK's
// FlowgladActionKey, in the order of the route table.
func ActionKeys() []ActionKey {
	keys := make([]ActionKey, len(routes))
	for i, rt := range routes {
		keys[i] = rt.key
	}
	return keys
}

// runFunc decodes a browser body and runs an action, returning the data of the answer. c is
// the zero Customer only for an anonymous visitor of a hybrid route (a signed-in customer
// always has an ExternalID). It is passed by value: a pointer passed through a func value
// escapes, and would cost every request an allocation.
type runFunc func(ctx context.Context, s *Service, c Customer, body []byte) (any, error)

// route is what the handler knows of an action key.
type route struct {
	key ActionKey
	run runFunc
	// hybrid routes serve anonymous visitors too: any authentication failure means
	// "anonymous" instead of 401.
	hybrid bool
	// redirects marks the checkout routes, whose successUrl and cancelUrl may lead back to
	// the request's own origin: only their context carries it (withRequestOrigin).
	redirects bool
}

// bind composes a decoder, a Service operation and the shape of the route's answer into a
// runFunc: the body is validated completely before the operation can make any Flowglad
// call.
func bind[In, Out any](decode func([]byte) (In, error), do func(*Service, context.Context, Customer, In) (Out, error), data func(Out) any) runFunc {
	return func(ctx context.Context, s *Service, c Customer, body []byte) (any, error) {
		in, err := decode(body)
		if err != nil {
			return nil, err
		}
		out, err := do(s, ctx, c, in)
		if err != nil {
			return nil, err
		}
		return data(out), nil
	}
}

// routeBilling is the customers/billing route's read: the route answers the entry and
// then releases it (succeed, billingread.Entry.Done), so the read may go into a pooled
// buffer (billingReads.loadReleased).
func (s *Service) routeBilling(ctx context.Context, c Customer) (*billingEntry, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return s.billing.loadReleased(ctx, c, false)
}

// billingData is the answer of customers/billing: Flowglad's body as it came. The entry
// itself (succeed writes its bytes): a slice made an interface value costs an allocation, a
// pointer does not, and succeed releases a pooled entry once it has answered.
func billingData(e *billingEntry) any { return e }

// same is the answer shape of operations whose result is the route's data as it is.
func same[T any](v T) any { return v }

// noInput is the input of actions without any; ignoreBody and empty decode it.
type noInput struct{}

// ignoreBody is the decoder of actions whose body carries nothing (the reference ignores it).
func ignoreBody([]byte) (noInput, error) { return noInput{}, nil }

// empty is the decoder of strict actions that take no input: the body must be {}.
func empty(body []byte) (noInput, error) { return noInput{}, decodeEmpty(body) }

// withoutInput adapts an operation that takes no input to bind.
func withoutInput[Out any](do func(*Service, context.Context, Customer) (Out, error)) func(*Service, context.Context, Customer, noInput) (Out, error) {
	return func(s *Service, ctx context.Context, c Customer, _ noInput) (Out, error) { return do(s, ctx, c) }
}

// The shapes of the route's answers that differ from the Service's typed results: Flowglad's
// envelopes, which the React SDK reads.

func customerData(c *flowgladapi.Customer) any {
	return struct {
		Customer *flowgladapi.Customer `json:"customer"`
	}{c}
}

func checkoutData(cs *flowgladapi.CheckoutSession) any {
	return struct {
		CheckoutSession *flowgladapi.CheckoutSession `json:"checkoutSession"`
		URL             string                       `json:"url"`
	}{cs, cs.URL}
}

// subscriptionData is {"subscription": sub}, built rather than encoded: sub is Flowglad's
// object, checked when it was read, and json.Marshal would check it a second time (and
// re-escape it) on its way into the answer.
func subscriptionData(sub subscriptionJSON) any {
	const prefix = `{"subscription":`
	b := make(json.RawMessage, 0, len(prefix)+len(sub)+1)
	b = append(append(append(b, prefix...), sub...), '}')
	return &b
}

func usageEventData(ev *flowgladapi.UsageEvent) any {
	return struct {
		UsageEvent *flowgladapi.UsageEvent `json:"usageEvent"`
	}{ev}
}

func resourcesData(us []flowgladapi.ResourceUsage) any {
	return struct {
		Resources []flowgladapi.ResourceUsage `json:"resources"`
	}{us}
}

func claimsData(rc *flowgladapi.ResourceClaims) any {
	return struct {
		Claims []flowgladapi.ResourceClaim `json:"claims"`
		Usage  flowgladapi.ResourceUsage   `json:"usage"`
	}{rc.Claims, rc.Usage}
}

func releasedData(rc *flowgladapi.ResourceClaims) any {
	return struct {
		ReleasedClaims []flowgladapi.ResourceClaim `json:"releasedClaims"`
		Usage          flowgladapi.ResourceUsage   `json:"usage"`
	}{rc.Claims, rc.Usage}
}

func claimListData(cs []flowgladapi.ResourceClaim) any {
	return struct {
		Claims []flowgladapi.ResourceClaim `json:"claims"`
	}{cs}
}

func balancesData(bs []flowgladapi.UsageMeterBalance) any {
	return struct {
		UsageMeterBalances []flowgladapi.UsageMeterBalance `json:"usageMeterBalances"`
	}{bs}
}

// routes is the route table: one row per action key, each binding the key to its decoder,
// its Service operation and the shape of its answer. Adding a key is a constant above and a
// row here.
var routes = []route{
	{key: ActionCustomersBilling, run: bind(ignoreBody, withoutInput((*Service).routeBilling), billingData)},
	{key: ActionCustomersFindOrCreate, run: bind(ignoreBody, withoutInput((*Service).FindOrCreateCustomer), customerData)},
	{key: ActionCustomersUpdate, run: bind(decodeUpdateCustomer, (*Service).UpdateCustomer, customerData)},
	{key: ActionCheckoutSessionsCreate, redirects: true, run: bind(decodeCheckoutSession, (*Service).CreateCheckoutSession, checkoutData)},
	{key: ActionCheckoutSessionsAddPaymentMethod, redirects: true, run: bind(decodeAddPaymentMethodCheckout, (*Service).CreateAddPaymentMethodCheckoutSession, checkoutData)},
	{key: ActionCheckoutSessionsActivateSubscription, redirects: true, run: bind(decodeActivateSubscriptionCheckout, (*Service).CreateActivateSubscriptionCheckoutSession, checkoutData)},
	{key: ActionSubscriptionsCancel, run: bind(decodeCancel, (*Service).cancelSubscription, subscriptionData)},
	{key: ActionSubscriptionsUncancel, run: bind(decodeUncancel, (*Service).uncancelSubscription, subscriptionData)},
	{key: ActionSubscriptionsAdjust, run: bind(decodeAdjust, (*Service).AdjustSubscription,
		func(a *SubscriptionAdjustment) any { return a.Raw })},
	{key: ActionSubscriptionsCreate, run: notImplemented},
	{key: ActionSubscriptionsList, run: bind(decodeListSubscriptions, (*Service).ListSubscriptions, same)},
	{key: ActionUsageEventsCreate, run: bind(decodeUsageEvent, (*Service).createUsageEventFromBrowser, usageEventData)},
	{key: ActionResourcesUsages, run: bind(decodeResourceUsages, (*Service).ResourceUsages, resourcesData)},
	{key: ActionResourcesUsage, run: bind(decodeResourceUsage, (*Service).ResourceUsage, same)},
	{key: ActionResourcesClaim, run: bind(decodeClaim, (*Service).ClaimResource, claimsData)},
	{key: ActionResourcesRelease, run: bind(decodeRelease, (*Service).ReleaseResource, releasedData)},
	{key: ActionResourcesClaims, run: bind(decodeResourceClaims, (*Service).ResourceClaims, claimListData)},
	{key: ActionPricingModelsRetrieve, hybrid: true, run: pricingModel},
	{key: ActionUsageMetersBalances, run: bind(decodeUsageMeterBalances, (*Service).UsageMeterBalances, balancesData)},
	{key: ActionFeaturesAccess, run: bind(decodeSubscriptionFilter, (*Service).features, same)},
	{key: ActionPaymentMethodsList, run: bind(empty, withoutInput((*Service).paymentMethods), same)},
	{key: ActionCustomerDetails, run: bind(empty, withoutInput((*Service).customerDetails), same)},
	{key: ActionInvoicesList, run: bind(decodePage, (*Service).invoices, same)},
	{key: ActionPurchasesList, run: bind(decodePage, (*Service).purchases, same)},
}

// routeTable indexes the route table by key, for the handler's lookup.
func routeTable() map[ActionKey]route {
	m := make(map[ActionKey]route, len(routes))
	for _, rt := range routes {
		m[rt.key] = rt
	}
	return m
}

// pricingModel answers the hybrid pricing-models/retrieve: the customer's pricing model, or
// the default one for an anonymous visitor.
func pricingModel(ctx context.Context, s *Service, c Customer, body []byte) (any, error) {
	if err := decodeEmpty(body); err != nil {
		return nil, err
	}
	if c == (Customer{}) {
		return s.pricingModelFor(ctx, nil)
	}
	return s.pricingModelFor(ctx, &c)
}

// notImplemented answers subscriptions/create: creating subscriptions is not offered to
// browsers (the reference answers the same); server code calls Service.CreateSubscription.
func notImplemented(context.Context, *Service, Customer, []byte) (any, error) {
	return nil, &Error{
		Status:  501,
		Code:    CodeNotImplemented,
		Message: "subscriptions/create is not available to browsers; create subscriptions from server code",
	}
}
