package flowgladapitest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccessorsUnknownRecords: the Go-side accessors name what
// they could not find, and the readers say "not found" rather than
// returning a zero record as if it existed.
func TestAccessorsUnknownRecords(t *testing.T) {
	s := newPlainServer(t)
	errTests := []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{"AddSubscription", func() error {
			return errOf(s.AddSubscription("user_zed", Subscription{Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}))
		}, `flowgladapitest: customer "user_zed" not found`},
		{"AddPaymentMethod", func() error { return errOf(s.AddPaymentMethod("user_zed", PaymentMethod{})) }, `flowgladapitest: customer "user_zed" not found`},
		{"AddPurchase", func() error {
			return errOf(s.AddPurchase("user_zed", Purchase{PriceSlug: DemoPriceCredits}))
		}, `flowgladapitest: customer "user_zed" not found`},
		{"AddInvoice", func() error {
			return errOf(s.AddInvoice("user_zed", Invoice{PurchaseID: DemoAlicePurchaseID}))
		}, `flowgladapitest: customer "user_zed" not found`},
		{"SetSubscriptionStatus", func() error { return s.SetSubscriptionStatus("sub_nope", StatusActive) }, `flowgladapitest: subscription "sub_nope" not found`},
		{"CompleteCheckout", func() error { return errOf(s.CompleteCheckout("cs_nope")) }, `flowgladapitest: checkout session "cs_nope" not found`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, tt.call(), tt.wantErr)
		})
	}

	t.Run("readers", func(t *testing.T) {
		_, found := s.Customer("user_zed")
		assert.False(t, found)
		_, found = s.Subscription("sub_nope")
		assert.False(t, found)
		_, found = s.UsageBalance("sub_nope", DemoUsageMeterAPICalls)
		assert.False(t, found, "unknown subscription")
		_, found = s.UsageBalance(DemoAliceSubscriptionID, "nope")
		assert.False(t, found, "unknown meter")
		assert.Empty(t, s.Claims("sub_nope"))
	})

	t.Run("archived customers are not found but still listed", func(t *testing.T) {
		ok(t, call(t, s, http.MethodPost, "/api/v1/customers/"+DemoCustomerBob+"/archive", map[string]any{}))
		_, found := s.Customer(DemoCustomerBob)
		assert.False(t, found)
		_, err := s.AddPaymentMethod(DemoCustomerBob, PaymentMethod{})
		assert.EqualError(t, err, `flowgladapitest: customer "user_bob" not found`)
		all := s.Customers()
		require.Len(t, all, 2)
		assert.Equal(t, DemoBobCustomerID, all[1].ID)
		assert.True(t, all[1].Archived)
		sub, found := s.Subscription(DemoBobSubscriptionID)
		require.True(t, found, "subscriptions outlive their archived customer")
		assert.Equal(t, StatusCanceled, sub.Status)
	})
}

// TestAddRecordsRefused: each invalid record is refused with an
// error naming the problem, and a refused Add* leaves no trace: the
// customer's records are unchanged and the same call, corrected, succeeds
// afterwards (explicit ids included).
func TestAddRecordsRefused(t *testing.T) {
	tests := []struct {
		name    string
		add     func(*Server) error
		retry   func(*Server) error // the corrected call
		wantErr string
	}{
		{"customer without external id",
			func(s *Server) error { return errOf(s.AddCustomer(Customer{ID: "cus_x"})) },
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ID: "cus_x", ExternalID: "user_x"}))
			},
			"a customer has no external id"},
		{"customer taken",
			func(s *Server) error { return errOf(s.AddCustomer(Customer{ExternalID: DemoCustomerAlice})) },
			nil, `customer "user_alice" already exists`},
		{"customer with a bad payment method",
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ID: "cus_x", ExternalID: "user_x", PaymentMethods: []PaymentMethod{{ID: "pm_x", Type: "cheque"}}}))
			},
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ID: "cus_x", ExternalID: "user_x", PaymentMethods: []PaymentMethod{{ID: "pm_x", Type: "sepa_debit"}}}))
			},
			`customer "user_x": payment method: unknown type "cheque"`},
		{"customer with a bad subscription",
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ID: "cus_x", ExternalID: "user_x",
					Subscriptions: []Subscription{{ID: "sub_x", Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}, {Items: []SubscriptionItem{{PriceSlug: "gold"}}}}}))
			},
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ID: "cus_x", ExternalID: "user_x", Subscriptions: []Subscription{{ID: "sub_x", Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}}}))
			},
			"Price with slug gold not found"},
		{"customer with a bad purchase",
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ExternalID: "user_x", Purchases: []Purchase{{PriceSlug: DemoPriceCredits, PriceID: "price_5"}}}))
			},
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ExternalID: "user_x", Purchases: []Purchase{{PriceSlug: DemoPriceCredits}}}))
			},
			`customer "user_x": purchase: give exactly one of PriceID and PriceSlug`},
		{"customer with a bad invoice",
			func(s *Server) error {
				return errOf(s.AddCustomer(Customer{ExternalID: "user_x", Invoices: []Invoice{{ID: "inv_x", PurchaseID: DemoAlicePurchaseID}}}))
			},
			nil, `customer "user_x": invoice: purchase "pur_alice_credits" is not this customer's`},
		{"payment method of unknown type",
			func(s *Server) error {
				return errOf(s.AddPaymentMethod(DemoCustomerBob, PaymentMethod{ID: "pm_x", Type: "cheque"}))
			},
			func(s *Server) error {
				return errOf(s.AddPaymentMethod(DemoCustomerBob, PaymentMethod{ID: "pm_x", Type: "link"}))
			},
			`flowgladapitest: payment method: unknown type "cheque"`},
		{"payment method id taken",
			func(s *Server) error {
				return errOf(s.AddPaymentMethod(DemoCustomerBob, PaymentMethod{ID: DemoAliceSubscriptionID}))
			},
			nil, `flowgladapitest: id "sub_alice_pro" is used twice`},
		{"subscription without items",
			func(s *Server) error { return errOf(s.AddSubscription(DemoCustomerBob, Subscription{})) },
			nil, "flowgladapitest: subscription has no items"},
		{"subscription item with two price refs",
			func(s *Server) error {
				return errOf(s.AddSubscription(DemoCustomerBob, Subscription{Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly, PriceID: "price_3"}}}))
			},
			nil, "subscription item: give exactly one of PriceID and PriceSlug"},
		{"subscription on a single payment price",
			func(s *Server) error {
				return errOf(s.AddSubscription(DemoCustomerBob, Subscription{Items: []SubscriptionItem{{PriceSlug: DemoPriceCredits}}}))
			},
			nil, `price "credits-100" is a single payment price, not a subscription price`},
		{"subscription with a negative quantity",
			func(s *Server) error {
				return errOf(s.AddSubscription(DemoCustomerBob, Subscription{Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly, Quantity: -1}}}))
			},
			nil, "subscription item: negative quantity"},
		{"subscription with an unknown status",
			func(s *Server) error {
				return errOf(s.AddSubscription(DemoCustomerBob, Subscription{Status: "sleeping", Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}))
			},
			nil, `subscription: unknown status "sleeping"`},
		{"non-renewing subscription past due",
			func(s *Server) error {
				return errOf(s.AddSubscription(DemoCustomerBob, Subscription{NonRenewing: true, Status: StatusPastDue, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}))
			},
			nil, `non-renewing subscription: status "past_due" is not allowed`},
		{"subscription id taken",
			func(s *Server) error {
				return errOf(s.AddSubscription(DemoCustomerBob, Subscription{ID: DemoAliceSubscriptionID, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}}))
			},
			nil, `id "sub_alice_pro" is used twice`},
		{"purchase without price",
			func(s *Server) error { return errOf(s.AddPurchase(DemoCustomerBob, Purchase{})) },
			nil, "purchase: give exactly one of PriceID and PriceSlug"},
		{"purchase of an unknown price",
			func(s *Server) error {
				return errOf(s.AddPurchase(DemoCustomerBob, Purchase{PriceID: "price_nope"}))
			},
			nil, "Price price_nope not found"},
		{"purchase of a free subscription price",
			func(s *Server) error {
				return errOf(s.AddPurchase(DemoCustomerBob, Purchase{PriceSlug: DemoPriceFreeMonthly}))
			},
			nil, `purchase: price "free-monthly" is free`},
		{"purchase id taken",
			func(s *Server) error {
				return errOf(s.AddPurchase(DemoCustomerBob, Purchase{ID: DemoAlicePurchaseID, PriceSlug: DemoPriceCredits}))
			},
			nil, `id "pur_alice_credits" is used twice`},
		{"invoice for nothing",
			func(s *Server) error { return errOf(s.AddInvoice(DemoCustomerBob, Invoice{})) },
			nil, "invoice: give exactly one of SubscriptionID and PurchaseID"},
		{"invoice id taken",
			func(s *Server) error {
				return errOf(s.AddInvoice(DemoCustomerBob, Invoice{ID: DemoBobSubscriptionID, SubscriptionID: DemoBobSubscriptionID}))
			},
			nil, `id "sub_bob_free" is used twice`},
		{"invoice for another customer's purchase",
			func(s *Server) error {
				return errOf(s.AddInvoice(DemoCustomerBob, Invoice{ID: "inv_x", PurchaseID: DemoAlicePurchaseID}))
			},
			func(s *Server) error {
				return errOf(s.AddInvoice(DemoCustomerBob, Invoice{ID: "inv_x", SubscriptionID: DemoBobSubscriptionID}))
			},
			`invoice: purchase "pur_alice_credits" is not this customer's`},
		{"invoice for a non-renewing subscription",
			func(s *Server) error {
				return errOf(s.AddInvoice(DemoCustomerBob, Invoice{SubscriptionID: "sub_nr"}))
			},
			nil, `invoice: subscription "sub_nr" does not renew (no billing period)`},
		{"invoice line of an unknown price",
			func(s *Server) error {
				return errOf(s.AddInvoice(DemoCustomerBob, Invoice{ID: "inv_x", SubscriptionID: DemoBobSubscriptionID, LineItems: []InvoiceLineItem{{PriceSlug: "gold"}}}))
			},
			func(s *Server) error {
				return errOf(s.AddInvoice(DemoCustomerBob, Invoice{ID: "inv_x", SubscriptionID: DemoBobSubscriptionID, LineItems: []InvoiceLineItem{{PriceSlug: DemoPriceFreeMonthly}}}))
			},
			"Price with slug gold not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newPlainServer(t)
			_, err := s.AddSubscription(DemoCustomerBob, Subscription{ID: "sub_nr", NonRenewing: true, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
			require.NoError(t, err)
			before := s.Customers()
			err = tt.add(s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Equal(t, before, s.Customers(), "a refused Add* changes nothing")
			_, found := s.Customer("user_x")
			assert.False(t, found, "a refused customer is not half-created")
			if tt.retry != nil {
				assert.NoError(t, tt.retry(s), "the corrected call succeeds")
			}
		})
	}

	t.Run("invoice numbers have no gaps after a refusal", func(t *testing.T) {
		s := newPlainServer(t)
		_, err := s.AddInvoice(DemoCustomerBob, Invoice{PurchaseID: DemoAlicePurchaseID})
		require.Error(t, err)
		inv, err := s.AddInvoice(DemoCustomerBob, Invoice{SubscriptionID: DemoBobSubscriptionID})
		require.NoError(t, err)
		assert.Equal(t, "FAKE-0003", inv.Number, "the demo seed has two invoices")
	})
}

// TestAddRecords: records added while the fake runs show up in the
// accessors and in billing (validated against the spec), with their
// documented defaults.
func TestAddRecords(t *testing.T) {
	s := newSpecServer(t)

	card, err := s.AddPaymentMethod(DemoCustomerBob, PaymentMethod{})
	require.NoError(t, err)
	assert.Equal(t, PaymentMethod{ID: card.ID, Type: "card", Default: true, Brand: "visa", Last4: "4242"}, card, "defaults; the first method is the default")
	bank, err := s.AddPaymentMethod(DemoCustomerBob, PaymentMethod{ID: "pm_bank", Type: "us_bank_account", Default: true, Brand: "chase", Last4: "6789"})
	require.NoError(t, err)
	assert.Equal(t, "pm_bank", bank.ID)
	bob, _ := s.Customer(DemoCustomerBob)
	require.Len(t, bob.PaymentMethods, 2)
	assert.False(t, bob.PaymentMethods[0].Default, "a new default replaces the old one")
	assert.True(t, bob.PaymentMethods[1].Default)

	pur, err := s.AddPurchase(DemoCustomerBob, Purchase{PriceID: catalogIDs(t, s)[DemoPriceCredits], Quantity: 3, Status: "pending"})
	require.NoError(t, err)
	assert.Equal(t, Purchase{ID: pur.ID, PriceID: pur.PriceID, PriceSlug: DemoPriceCredits, Quantity: 3, Status: "pending", Name: "100 credits"}, pur)

	subInv, err := s.AddInvoice(DemoCustomerBob, Invoice{SubscriptionID: DemoBobSubscriptionID, Number: "INV-42", Status: "open"})
	require.NoError(t, err)
	assert.Equal(t, "INV-42", subInv.Number)
	assert.Equal(t, "open", subInv.Status)
	require.Len(t, subInv.LineItems, 1, "one line per subscription item")
	assert.Equal(t, DemoPriceFreeMonthly, subInv.LineItems[0].PriceSlug)
	purInv, err := s.AddInvoice(DemoCustomerBob, Invoice{PurchaseID: pur.ID})
	require.NoError(t, err)
	require.Len(t, purInv.LineItems, 1)
	assert.Equal(t, InvoiceLineItem{ID: purInv.LineItems[0].ID, Description: "100 credits", PriceID: pur.PriceID, PriceSlug: DemoPriceCredits, Quantity: 3, Price: 1000}, purInv.LineItems[0])
	assert.Equal(t, "paid", purInv.Status)

	named, err := s.AddSubscription(DemoCustomerBob, Subscription{
		ID: "sub_named", Name: "Bob's team", DefaultPaymentMethodID: card.ID, Status: StatusCancellationScheduled,
		Items: []SubscriptionItem{{PriceSlug: DemoPriceTeamMonthly}},
	})
	require.NoError(t, err)
	assert.Equal(t, "Bob's team", named.Name)
	assert.Equal(t, card.ID, named.DefaultPaymentMethodID)
	assert.Equal(t, named.CurrentPeriodEnd, named.CancelScheduledAt, "a seeded scheduled cancellation falls at the period end")

	billing := ok(t, call(t, s, http.MethodGet, "/api/v1/customers/"+DemoCustomerBob+"/billing", nil))
	assert.Len(t, billing["paymentMethods"], 2)
	assert.Len(t, billing["purchases"], 1)
	assert.Len(t, billing["invoices"], 2)
	assert.Len(t, billing["currentSubscriptions"], 2)

	m := ok(t, call(t, s, http.MethodPost, "/api/v1/subscriptions/sub_named/uncancel", nil))
	assert.Equal(t, StatusActive, dig(t, m, "subscription", "status"), "a seeded scheduled cancellation uncancels to active")
}

// TestSetSubscriptionStatus covers each forced status: what it
// stamps, what it clears, what uncancel restores, and the statuses a
// subscription cannot take.
func TestSetSubscriptionStatus(t *testing.T) {
	periodEnd := testNow.AddDate(0, 1, 0)
	tests := []struct {
		name          string
		statuses      []string // applied in order to Alice's Pro subscription
		wantStatus    string
		wantCanceled  time.Time
		wantScheduled time.Time
		wantUncancel  string // status after POST uncancel; "" = uncancel is refused
	}{
		{"past due", []string{StatusPastDue}, StatusPastDue, time.Time{}, time.Time{}, ""},
		{"canceled", []string{StatusCanceled}, StatusCanceled, testNow, time.Time{}, ""},
		{"canceled then active again", []string{StatusCanceled, StatusActive}, StatusActive, time.Time{}, time.Time{}, ""},
		{"cancellation scheduled", []string{StatusCancellationScheduled}, StatusCancellationScheduled, time.Time{}, periodEnd, StatusActive},
		{"past due then cancellation scheduled", []string{StatusPastDue, StatusCancellationScheduled}, StatusCancellationScheduled, time.Time{}, periodEnd, StatusPastDue},
		{"cancellation scheduled twice", []string{StatusCancellationScheduled, StatusCancellationScheduled}, StatusCancellationScheduled, time.Time{}, periodEnd, StatusActive},
		{"canceled then cancellation scheduled", []string{StatusCanceled, StatusCancellationScheduled}, StatusCancellationScheduled, time.Time{}, periodEnd, StatusActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpecServer(t)
			for _, st := range tt.statuses {
				require.NoError(t, s.SetSubscriptionStatus(DemoAliceSubscriptionID, st))
			}
			sub, _ := s.Subscription(DemoAliceSubscriptionID)
			assert.Equal(t, tt.wantStatus, sub.Status)
			assert.Equal(t, tt.wantCanceled, sub.CanceledAt)
			assert.Equal(t, tt.wantScheduled, sub.CancelScheduledAt)

			api := ok(t, call(t, s, http.MethodGet, "/api/v1/subscriptions/"+DemoAliceSubscriptionID, nil))
			assert.Equal(t, tt.wantStatus, dig(t, api, "subscription", "status"))
			assert.Equal(t, sub.Current(), dig(t, api, "subscription", "current"))

			r := call(t, s, http.MethodPost, "/api/v1/subscriptions/"+DemoAliceSubscriptionID+"/uncancel", nil)
			if tt.wantUncancel == "" {
				assert.Equal(t, http.StatusBadRequest, r.status)
				return
			}
			m := ok(t, r)
			assert.Equal(t, tt.wantUncancel, dig(t, m, "subscription", "status"))
			assert.Nil(t, dig(t, m, "subscription", "cancelScheduledAt"))
			assert.Nil(t, dig(t, m, "subscription", "canceledAt"))
		})
	}

	t.Run("refused statuses", func(t *testing.T) {
		s := newPlainServer(t)
		nr, err := s.AddSubscription(DemoCustomerBob, Subscription{NonRenewing: true, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
		require.NoError(t, err)
		for _, tt := range []struct{ id, status string }{
			{DemoAliceSubscriptionID, "sleeping"},
			{DemoAliceSubscriptionID, StatusCreditTrial},
			{nr.ID, StatusPastDue},
			{nr.ID, StatusCancellationScheduled},
		} {
			err := s.SetSubscriptionStatus(tt.id, tt.status)
			assert.EqualError(t, err, `flowgladapitest: status "`+tt.status+`" is not allowed for subscription "`+tt.id+`"`)
		}
		require.NoError(t, s.SetSubscriptionStatus(nr.ID, StatusCreditTrial), "credit_trial is for non-renewing subscriptions")
		sub, _ := s.Subscription(nr.ID)
		assert.Equal(t, StatusCreditTrial, sub.Status)
		assert.True(t, sub.Current())
		alice, _ := s.Subscription(DemoAliceSubscriptionID)
		assert.Equal(t, StatusActive, alice.Status, "a refused status changes nothing")
	})
}

// TestAccessorsReturnCopies: what the readers return can be
// changed freely without changing the fake.
func TestAccessorsReturnCopies(t *testing.T) {
	s := newPlainServer(t)
	_, err := s.AddSubscription(DemoCustomerBob, Subscription{ID: "sub_meta", Metadata: map[string]any{"k": "v"}, Items: []SubscriptionItem{{PriceSlug: DemoPriceProMonthly}}})
	require.NoError(t, err)
	ok(t, call(t, s, http.MethodPost, "/api/v1/usage-events", map[string]any{"usageEvent": map[string]any{
		"subscriptionId": DemoAliceSubscriptionID, "amount": 2, "transactionId": "tx-copy", "usageMeterSlug": DemoUsageMeterAPICalls, "properties": map[string]any{"p": "q"},
	}}))
	ok(t, call(t, s, http.MethodPost, "/api/v1/resource-claims/"+DemoAliceSubscriptionID+"/claim", map[string]any{
		"resourceSlug": DemoResourceSeats, "externalId": "u1", "metadata": map[string]any{"m": "n"},
	}))

	sub, _ := s.Subscription("sub_meta")
	sub.Metadata["k"] = "changed"
	ev := s.UsageEvents()
	ev[0].Properties["p"] = "changed"
	cl := s.Claims(DemoAliceSubscriptionID)
	require.Len(t, cl, 1)
	assert.Equal(t, "u1", cl[0].ExternalID)
	assert.Equal(t, DemoResourceSeats, cl[0].ResourceSlug)
	assert.True(t, cl[0].ReleasedAt.IsZero(), "an active claim has no release time")
	cl[0].Metadata["m"] = "changed"

	sub, _ = s.Subscription("sub_meta")
	assert.Equal(t, "v", sub.Metadata["k"])
	assert.Equal(t, "q", s.UsageEvents()[0].Properties["p"])
	assert.Equal(t, "n", s.Claims(DemoAliceSubscriptionID)[0].Metadata["m"])
}
