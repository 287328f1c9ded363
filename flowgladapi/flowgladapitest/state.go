package flowgladapitest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// state is everything the fake knows. It is guarded by Fake.mu; every
// timestamp is epoch milliseconds.
type state struct {
	pm            *pricingModel
	customers     []*customer // creation order, archived ones included
	subs          []*subscription
	events        []*usageEvent
	claims        []*claim
	sessions      []*checkoutSession
	invoiceNumber int
}

type pricingModel struct {
	id, name  string
	createdAt int64
	meters    []*usageMeter
	resources []*resource
	features  []*feature
	products  []*product
}

type product struct {
	id, slug, name, description string
	isDefault                   bool
	createdAt                   int64
	prices                      []*price
	features                    []*feature
}

type price struct {
	id, slug, name     string
	typ                string
	unitPrice          int64
	currency           string
	interval           string
	intervalCount      int64
	trialDays          int64
	usageEventsPerUnit int64
	isDefault          bool
	createdAt          int64
	product            *product    // subscription and single_payment prices
	meter              *usageMeter // usage prices
}

type usageMeter struct {
	id, slug, name, aggregation string
	createdAt                   int64
	prices                      []*price
}

type resource struct {
	id, slug, name string
	createdAt      int64
}

type feature struct {
	id, slug, name, description, typ string
	amount                           int64
	renewal                          string
	meter                            *usageMeter
	resource                         *resource
	createdAt                        int64
}

type customer struct {
	id, externalID, email, name string
	archived                    bool
	logoURL, iconURL, domain    *string
	userID                      *string
	billingAddress              json.RawMessage
	createdAt, updatedAt        int64
	paymentMethods              []*paymentMethod
	purchases                   []*purchase
	invoices                    []*invoice
}

type subscription struct {
	id                     string
	seq                    int // creation order, to sort ties on createdAt
	cust                   *customer
	status                 string
	renews                 bool
	interval               string
	intervalCount          int64
	name                   string
	startDate              int64
	createdAt, updatedAt   int64
	trialEnd               *int64
	periodStart, periodEnd *int64
	billingPeriodID        string
	canceledAt             *int64
	cancelScheduledAt      *int64
	scheduledAdjustmentAt  *int64
	cancellationReason     *string
	replacedBy             *string
	statusBeforeCancel     string
	defaultPM              *string
	isFreePlan             bool
	doNotCharge            bool
	metadata               map[string]any
	items                  []*subItem // every item, expired ones included
	pending                []itemSpec // end-of-period adjustment
}

type subItem struct {
	id                   string
	sub                  *subscription
	price                *price
	name                 string
	quantity, unitPrice  int64
	addedDate            int64
	createdAt, updatedAt int64
	expiredAt            *int64
	features             []*subItemFeature
}

type subItemFeature struct {
	id        string
	item      *subItem
	feature   *feature
	createdAt int64
}

type paymentMethod struct {
	id           string
	cust         *customer
	typ          string
	isDefault    bool
	brand, last4 string
	createdAt    int64
}

type purchase struct {
	id        string
	cust      *customer
	price     *price
	name      string
	quantity  int64
	status    string
	createdAt int64
}

type invoice struct {
	id        string
	paymentID string // the payment that settled it, when a checkout paid it
	cust      *customer
	number    string
	status    string
	sub       *subscription
	purchase  *purchase
	lines     []*lineItem
	createdAt int64
}

type lineItem struct {
	id          string
	description string
	price       *price
	quantity    int64
	amount      int64
	createdAt   int64
}

type usageEvent struct {
	id              string
	sub             *subscription
	meter           *usageMeter
	price           *price
	amount          int64
	usageDate       int64
	transactionID   string
	properties      map[string]any
	billingPeriodID *string
	createdAt       int64
	// counted is whether the event lowers the balance: false for a repeat of a
	// count_distinct_properties combination.
	counted bool
}

type claim struct {
	id            string
	sub           *subscription
	resource      *resource
	externalID    *string
	metadata      map[string]any
	claimedAt     int64
	releasedAt    *int64
	releaseReason *string
	updatedAt     int64
}

type checkoutSession struct {
	id                 string
	typ                string
	status             string
	cust               *customer // nil for anonymous sessions
	price              *price
	quantity           int64
	target             *subscription
	autoUpdate         *bool
	preserveAnchor     bool
	successURL         string
	cancelURL          string
	url                string
	outputName         *string
	outputMetadata     map[string]any
	purchase           *purchase
	invoice            *invoice
	result             string
	createdAt, expires int64
	updatedAt          int64
}

// itemSpec is a subscription item to create: a price and a quantity.
type itemSpec struct {
	price    *price
	quantity int64
}

// now is the fake's clock in epoch milliseconds.
func (f *Fake) now() int64 { return f.clock().UnixMilli() }

// newIDLocked returns prefix_N for the next unused N.
func (f *Fake) newIDLocked(prefix string) string {
	for {
		f.seq[prefix]++
		id := prefix + "_" + strconv.Itoa(f.seq[prefix])
		if !f.used[id] {
			f.used[id] = true
			return id
		}
	}
}

// idLocked returns want when given (it must be unused) or a new id.
func (f *Fake) idLocked(prefix, want string) (string, error) {
	if want == "" {
		return f.newIDLocked(prefix), nil
	}
	if f.used[want] {
		return "", fmt.Errorf("id %q is used twice", want)
	}
	f.used[want] = true
	return want, nil
}

func isCurrent(status string) bool {
	switch status {
	case StatusActive, StatusTrialing, StatusPastDue, StatusCancellationScheduled, StatusCreditTrial:
		return true
	}
	return false
}

func validInterval(s string) bool {
	switch s {
	case "day", "week", "month", "year":
		return true
	}
	return false
}

// addInterval returns t (ms) moved n intervals later.
func addInterval(t int64, interval string, n int64) int64 {
	tm := time.UnixMilli(t).UTC()
	switch interval {
	case "day":
		tm = tm.AddDate(0, 0, int(n))
	case "week":
		tm = tm.AddDate(0, 0, 7*int(n))
	case "year":
		tm = tm.AddDate(int(n), 0, 0)
	default:
		tm = tm.AddDate(0, int(n), 0)
	}
	return tm.UnixMilli()
}

func ptr[T any](v T) *T { return &v }
