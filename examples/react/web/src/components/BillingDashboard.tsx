import {
  type FlowgladContextValues,
  type LoadedFlowgladContextValues,
  useBilling,
  usePricingModel,
  useUsageMeters,
} from '@flowglad/react'
import { useMemo, useState } from 'react'
import { findProductByPriceId } from '../pricing'
import { messageOf, sdkErrorMessage, useActionReporter, useHookProblem } from '../problems'
import { GeneratePanel } from './GeneratePanel'
import { PipelinePanel } from './PipelinePanel'
import { PricingTable } from './PricingTable'
import { SeatsPanel } from './SeatsPanel'

const FEATURES = [
  { slug: 'basic', label: 'Basic' },
  { slug: 'premium', label: 'Premium' },
  { slug: 'sso', label: 'SSO' },
] as const
const USAGE_METER = 'api-calls'

function isLoaded(billing: FlowgladContextValues): billing is LoadedFlowgladContextValues {
  return billing.loaded && billing.errors === null && billing.customer !== null
}

/** Everything a signed-in customer sees. useBilling() loads billing on mount. */
export function BillingDashboard() {
  const billing = useBilling()
  useHookProblem(
    'useBilling',
    billing.errors ? billing.errors.map((e) => e.message).join('; ') : null,
  )

  if (!billing.loaded) {
    return (
      <section className="card" data-testid="billing-loading">
        <p className="muted">Loading billing…</p>
      </section>
    )
  }
  if (billing.errors) {
    return (
      <section className="card">
        <h2>Billing is unavailable</h2>
        <p className="muted">See the error above. The server logs have the details.</p>
        <button type="button" className="button" onClick={() => window.location.reload()}>
          Try again
        </button>
      </section>
    )
  }
  if (!isLoaded(billing)) {
    // {data: null} from the route: the server saw no signed-in customer.
    return (
      <section className="card" data-testid="billing-signed-out">
        <p className="muted">The billing route says nobody is signed in. Pick a demo user again.</p>
      </section>
    )
  }
  return <LoadedDashboard billing={billing} />
}

function LoadedDashboard({ billing }: { billing: LoadedFlowgladContextValues }) {
  const report = useActionReporter()
  const pricingModel = usePricingModel()
  const [pendingSlug, setPendingSlug] = useState<string | null>(null)

  const currentPriceIds = useMemo(
    () => new Set((billing.currentSubscriptions ?? []).map((s) => s.priceId)),
    [billing.currentSubscriptions],
  )

  const checkout = async (priceSlug: string) => {
    setPendingSlug(priceSlug)
    report('checkout-sessions/create', null)
    try {
      const result = await billing.createCheckoutSession({
        priceSlug,
        successUrl: `${window.location.origin}/?checkout=success`,
        cancelUrl: `${window.location.origin}/?checkout=cancel`,
        // The SDK sets window.location.href to the hosted checkout page.
        autoRedirect: true,
      })
      if ('error' in result) {
        report('checkout-sessions/create', sdkErrorMessage(result.error))
        setPendingSlug(null)
      }
    } catch (err) {
      report('checkout-sessions/create', messageOf(err))
      setPendingSlug(null)
    }
  }

  return (
    <>
      <p className="loaded-note">
        <span className="badge badge-on" data-testid="billing-loaded">
          Billing loaded
        </span>{' '}
        <span className="muted">
          Flowglad customer <code>{billing.customer.id}</code>
        </span>
      </p>
      <div className="grid">
        <PlanCard billing={billing} />
        <FeaturesCard billing={billing} />
        <UsageCard billing={billing} />
        {billing.currentSubscription ? (
          <SeatsPanel />
        ) : (
          <section className="card" data-testid="seats-panel" data-state="no-subscription">
            <h2>Seats</h2>
            <p className="muted">Seats come with a subscription.</p>
          </section>
        )}
      </div>
      <PricingTable
        pricingModel={pricingModel ?? billing.pricingModel}
        onChoose={checkout}
        currentPriceIds={currentPriceIds}
        pendingSlug={pendingSlug}
      />
    </>
  )
}

function PlanCard({ billing }: { billing: LoadedFlowgladContextValues }) {
  const report = useActionReporter()
  const [pending, setPending] = useState<'cancel' | 'uncancel' | null>(null)
  const subscription = billing.currentSubscription ?? null
  const product = findProductByPriceId(billing.pricingModel, subscription?.priceId)
  const planName = product?.name ?? subscription?.name ?? 'No plan'
  const status = subscription?.status ?? 'none'
  const cancelScheduled = status === 'cancellation_scheduled'
  // Flowglad marks the default free plan; there is nothing to cancel there.
  const freePlan = subscription !== null && 'isFreePlan' in subscription && subscription.isFreePlan === true
  const periodEnd = subscription?.cancelScheduledAt ?? subscription?.currentBillingPeriodEnd ?? null

  const run = async (kind: 'cancel' | 'uncancel') => {
    if (!subscription) return
    setPending(kind)
    report(`subscriptions/${kind}`, null)
    try {
      const result =
        kind === 'cancel'
          ? await billing.cancelSubscription({
              id: subscription.id,
              cancellation: { timing: 'at_end_of_current_billing_period' },
            })
          : await billing.uncancelSubscription({ id: subscription.id })
      // 0.18.0 resolves even when the route answered an error: it only logs
      // it and returns {subscription: undefined}.
      if (!result?.subscription) {
        report(`subscriptions/${kind}`, `could not ${kind} the subscription (details in the browser console)`)
      }
    } catch (err) {
      report(`subscriptions/${kind}`, messageOf(err))
    } finally {
      // The SDK refetches billing after a success; reload anyway so the card
      // shows the server's view after a failure too.
      await billing.reload().catch(() => undefined)
      setPending(null)
    }
  }

  return (
    <section className="card" data-testid="plan-card">
      <h2>Current plan</h2>
      <p className="plan-name" data-testid="plan-name">
        {planName}
      </p>
      <p>
        <span className={`status status-${status}`} data-testid="plan-status">
          {status}
        </span>
        {cancelScheduled && (
          <span className="cancel-note" data-testid="plan-cancels-at-period-end">
            cancels at period end
            {periodEnd ? ` (${new Date(periodEnd).toLocaleDateString()})` : ''}
          </span>
        )}
      </p>
      <div className="actions">
        {subscription && !freePlan && !cancelScheduled && status !== 'canceled' && (
          <button
            type="button"
            className="button button-danger"
            data-testid="cancel-subscription"
            disabled={pending !== null}
            onClick={() => run('cancel')}
          >
            {pending === 'cancel' ? 'Cancelling…' : 'Cancel at period end'}
          </button>
        )}
        {subscription && cancelScheduled && (
          <button
            type="button"
            className="button"
            data-testid="uncancel-subscription"
            disabled={pending !== null}
            onClick={() => run('uncancel')}
          >
            {pending === 'uncancel' ? 'Restoring…' : 'Undo cancellation'}
          </button>
        )}
      </div>
    </section>
  )
}

/** Calls an SDK check that may throw on a payload it cannot read. */
function attempt<T>(fn: () => T): { value: T | null; error: string | null } {
  try {
    return { value: fn(), error: null }
  } catch (err) {
    return { value: null, error: messageOf(err) }
  }
}

function FeaturesCard({ billing }: { billing: LoadedFlowgladContextValues }) {
  const checks = FEATURES.map((feature) => ({
    ...feature,
    ...attempt(() => billing.checkFeatureAccess(feature.slug)),
  }))
  useHookProblem('checkFeatureAccess', checks.find((c) => c.error)?.error)

  return (
    <section className="card" data-testid="features-card">
      <h2>Feature access</h2>
      <p className="muted">
        <code>checkFeatureAccess(slug)</code>, computed in the browser from billing.
      </p>
      <ul className="rows">
        {checks.map(({ slug, label, value }) => (
          <li key={slug} className="row">
            <span>
              {label} <code className="muted">{slug}</code>
            </span>
            <span
              className={value ? 'badge badge-on' : 'badge badge-off'}
              data-testid={`feature-${slug}`}
              data-state={value ? 'on' : 'off'}
            >
              {value ? 'yes' : 'no'}
            </span>
          </li>
        ))}
      </ul>
    </section>
  )
}

function UsageCard({ billing }: { billing: LoadedFlowgladContextValues }) {
  const report = useActionReporter()
  const { usageMeters, error } = useUsageMeters()
  useHookProblem('useUsageMeters', error?.message)
  const [pending, setPending] = useState(false)
  const [lastEventId, setLastEventId] = useState<string | null>(null)

  const meter = usageMeters?.find((m) => m.slug === USAGE_METER)
  const fromBilling = attempt(() => billing.checkUsageBalance(USAGE_METER))
  useHookProblem('checkUsageBalance', fromBilling.error)
  // Show the balance in billing (checkUsageBalance): it is what the server
  // gates on, and billing.reload() refreshes it after usage the server records
  // (POST /api/generate). The SDK refetches useUsageMeters() only after its own
  // createUsageEvent, so that one is the fallback.
  const balance = fromBilling.value?.availableBalance ?? meter?.availableBalance ?? null
  const source = fromBilling.value ? 'checkUsageBalance()' : meter ? 'useUsageMeters()' : null

  const record = async () => {
    setPending(true)
    report('usage-events/create', null)
    try {
      const result = await billing.createUsageEvent({ usageMeterSlug: USAGE_METER, amount: 1 })
      if ('error' in result) {
        report('usage-events/create', sdkErrorMessage(result.error))
      } else {
        setLastEventId(result.usageEvent.id)
        // The SDK already refetched usage meters; reload billing, whose
        // balance the card shows.
        await billing.reload()
      }
    } catch (err) {
      report('usage-events/create', messageOf(err))
    } finally {
      setPending(false)
    }
  }

  return (
    <section className="card" data-testid="usage-card">
      <h2>API calls</h2>
      <p className="muted">
        Usage meter <code>{USAGE_METER}</code>
        {source && <> · from <code>{source}</code></>}
      </p>
      <p className="big-number">
        <span data-testid="usage-balance" data-state={balance === null ? 'unknown' : 'known'}>
          {balance === null ? '–' : String(balance)}
        </span>
        <span className="muted"> remaining</span>
      </p>
      <div className="actions">
        <button
          type="button"
          className="button"
          data-testid="record-usage"
          disabled={pending || !billing.currentSubscription}
          onClick={record}
        >
          {pending ? 'Recording…' : 'Record usage (1 call)'}
        </button>
      </div>
      {lastEventId && (
        <p className="muted small">
          Last event <code data-testid="last-usage-event">{lastEventId}</code>
        </p>
      )}
      <GeneratePanel billing={billing} />
      <PipelinePanel billing={billing} />
    </section>
  )
}
