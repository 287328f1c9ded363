package flowglad

import (
	"context"

	"github.com/flowglad-go/flowglad/actions"
)

// ActionKey names one action of the /api/flowglad route: the request path after the base
// path. Keys are matched exactly and case-sensitively.
type ActionKey string

// The 24 action keys of Flowglad's React SDK (FlowgladActionKey).
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

// ActionKeys returns the 24 action keys the handler serves, in the order above.
func ActionKeys() []ActionKey {
	return []ActionKey{
		ActionCustomersBilling, ActionCustomersFindOrCreate, ActionCustomersUpdate,
		ActionCheckoutSessionsCreate, ActionCheckoutSessionsAddPaymentMethod,
		ActionCheckoutSessionsActivateSubscription, ActionSubscriptionsCancel,
		ActionSubscriptionsUncancel, ActionSubscriptionsAdjust, ActionSubscriptionsCreate,
		ActionSubscriptionsList, ActionUsageEventsCreate, ActionResourcesUsages,
		ActionResourcesUsage, ActionResourcesClaim, ActionResourcesRelease,
		ActionResourcesClaims, ActionPricingModelsRetrieve, ActionUsageMetersBalances,
		ActionFeaturesAccess, ActionPaymentMethodsList, ActionCustomerDetails,
		ActionInvoicesList, ActionPurchasesList,
	}
}

// runFunc decodes a browser body and runs an action. c is nil only for an anonymous visitor
// of a hybrid route.
type runFunc func(ctx context.Context, s *actions.Service, c *actions.Customer, body []byte) (any, error)

// route is what the handler knows of an action key.
type route struct {
	run runFunc
	// hybrid routes serve anonymous visitors too: any authentication failure means
	// "anonymous" instead of 401.
	hybrid bool
}

// bind composes a decoder and an action into a runFunc: the body is validated completely
// before the action can make any Flowglad call.
func bind[In any, Out any](decode func([]byte) (In, error), do func(*actions.Service, context.Context, actions.Customer, In) (Out, error)) runFunc {
	return func(ctx context.Context, s *actions.Service, c *actions.Customer, body []byte) (any, error) {
		in, err := decode(body)
		if err != nil {
			return nil, err
		}
		return do(s, ctx, *c, in)
	}
}

// ignoreBody is the decoder of actions whose body carries nothing (the reference ignores it).
func ignoreBody([]byte) (struct{}, error) { return struct{}{}, nil }

// empty is the decoder of strict actions that take no input: the body must be {}.
func empty(body []byte) (struct{}, error) { return struct{}{}, actions.DecodeEmpty(body) }

// routeTable maps every action key to its route.
func routeTable() map[ActionKey]route {
	return map[ActionKey]route{
		ActionCustomersBilling: {run: bind(ignoreBody, func(s *actions.Service, ctx context.Context, c actions.Customer, _ struct{}) (any, error) {
			b, err := s.Billing(ctx, c)
			if err != nil {
				return nil, err
			}
			return b.Raw, nil
		})},
		ActionCustomersFindOrCreate: {run: bind(ignoreBody, func(s *actions.Service, ctx context.Context, c actions.Customer, _ struct{}) (*actions.CustomerResult, error) {
			return s.FindOrCreateCustomer(ctx, c)
		})},
		ActionCustomersUpdate:                      {run: bind(actions.DecodeUpdateCustomer, (*actions.Service).UpdateCustomer)},
		ActionCheckoutSessionsCreate:               {run: bind(actions.DecodeCheckoutSession, (*actions.Service).CreateCheckoutSession)},
		ActionCheckoutSessionsAddPaymentMethod:     {run: bind(actions.DecodeAddPaymentMethodCheckout, (*actions.Service).CreateAddPaymentMethodCheckoutSession)},
		ActionCheckoutSessionsActivateSubscription: {run: bind(actions.DecodeActivateSubscriptionCheckout, (*actions.Service).CreateActivateSubscriptionCheckoutSession)},
		ActionSubscriptionsCancel:                  {run: bind(actions.DecodeCancel, (*actions.Service).CancelSubscription)},
		ActionSubscriptionsUncancel:                {run: bind(actions.DecodeUncancel, (*actions.Service).UncancelSubscription)},
		ActionSubscriptionsAdjust:                  {run: bind(actions.DecodeAdjust, (*actions.Service).AdjustSubscription)},
		ActionSubscriptionsCreate:                  {run: notImplemented},
		ActionSubscriptionsList:                    {run: bind(actions.DecodeListSubscriptions, (*actions.Service).ListSubscriptions)},
		ActionUsageEventsCreate:                    {run: bind(actions.DecodeUsageEvent, (*actions.Service).CreateUsageEvent)},
		ActionResourcesUsages: {run: bind(actions.DecodeResourceUsages, func(s *actions.Service, ctx context.Context, c actions.Customer, in actions.ResourceInput) (*actions.ResourceList, error) {
			return s.ResourceUsages(ctx, c, in.SubscriptionID)
		})},
		ActionResourcesUsage:   {run: bind(actions.DecodeResourceUsage, (*actions.Service).ResourceUsage)},
		ActionResourcesClaim:   {run: bind(actions.DecodeClaim, (*actions.Service).ClaimResource)},
		ActionResourcesRelease: {run: bind(actions.DecodeRelease, (*actions.Service).ReleaseResource)},
		ActionResourcesClaims:  {run: bind(actions.DecodeResourceClaims, (*actions.Service).ResourceClaims)},
		ActionPricingModelsRetrieve: {hybrid: true, run: func(ctx context.Context, s *actions.Service, c *actions.Customer, body []byte) (any, error) {
			if err := actions.DecodeEmpty(body); err != nil {
				return nil, err
			}
			return s.PricingModel(ctx, c)
		}},
		ActionUsageMetersBalances: {run: bind(actions.DecodeSubscriptionFilter, (*actions.Service).UsageBalances)},
		ActionFeaturesAccess:      {run: bind(actions.DecodeSubscriptionFilter, (*actions.Service).Features)},
		ActionPaymentMethodsList: {run: bind(empty, func(s *actions.Service, ctx context.Context, c actions.Customer, _ struct{}) (*actions.PaymentMethodList, error) {
			return s.PaymentMethods(ctx, c)
		})},
		ActionCustomerDetails: {run: bind(empty, func(s *actions.Service, ctx context.Context, c actions.Customer, _ struct{}) (*actions.CustomerDetailsResult, error) {
			return s.CustomerDetails(ctx, c)
		})},
		ActionInvoicesList:  {run: bind(actions.DecodePage, (*actions.Service).Invoices)},
		ActionPurchasesList: {run: bind(actions.DecodePage, (*actions.Service).Purchases)},
	}
}

// notImplemented answers subscriptions/create: creating subscriptions is not offered to
// browsers (the reference answers the same); server code calls the Go API instead.
func notImplemented(context.Context, *actions.Service, *actions.Customer, []byte) (any, error) {
	return nil, &actions.Error{
		Status:  501,
		Code:    "not_implemented",
		Message: "subscriptions/create is not available to browsers; create subscriptions from server code",
	}
}
