import { formatPrice, type PriceRow, type PricingModel, pricesOfType } from '../pricing'

interface Props {
  pricingModel: PricingModel | null
  /** Starts checkout for a price slug; absent when signed out. */
  onChoose?: (priceSlug: string) => void
  /** Price ids of the customer's current subscriptions (shown as "Current plan"). */
  currentPriceIds?: ReadonlySet<string>
  /** The slug whose checkout is being created (its button shows progress). */
  pendingSlug?: string | null
}

/**
 * Plans from the pricing model. Signed out, the hybrid
 * `pricing-models/retrieve` action serves the default pricing model; signed
 * in, the customer's own.
 */
export function PricingTable({ pricingModel, onChoose, currentPriceIds, pendingSlug }: Props) {
  if (!pricingModel) {
    return (
      <section className="card" data-testid="pricing-table" data-state="loading">
        <h2>Plans</h2>
        <p className="muted">Loading pricing…</p>
      </section>
    )
  }

  const plans = pricesOfType(pricingModel, 'subscription')
  const oneTime = pricesOfType(pricingModel, 'single_payment')

  const button = ({ price }: PriceRow, label: string) => {
    const current = currentPriceIds?.has(price.id) ?? false
    const pending = pendingSlug === price.slug
    return (
      <button
        type="button"
        className={current ? 'button button-ghost' : 'button'}
        data-testid={`checkout-${price.slug}`}
        data-current={current || undefined}
        disabled={!onChoose || current || Boolean(pendingSlug)}
        title={onChoose ? undefined : 'Sign in to choose a plan'}
        onClick={() => onChoose?.(price.slug)}
      >
        {current ? 'Current plan' : pending ? 'Redirecting…' : onChoose ? label : 'Sign in to choose'}
      </button>
    )
  }

  return (
    <section className="card" data-testid="pricing-table" data-state="ready">
      <h2>Plans</h2>
      {plans.length === 0 && <p className="muted">This pricing model has no subscription plans.</p>}
      <div className="plans">
        {plans.map((row) => {
          const current = currentPriceIds?.has(row.price.id) ?? false
          const features = row.product.features ?? []
          return (
            <article
              key={row.price.id}
              className={current ? 'plan plan-current' : 'plan'}
              data-testid={`plan-${row.price.slug}`}
            >
              <header>
                <h3>{row.product.name}</h3>
                {current && <span className="badge badge-on">Current</span>}
              </header>
              <p className="plan-price">{formatPrice(row.price)}</p>
              {row.product.description && <p className="muted">{row.product.description}</p>}
              {features.length > 0 && (
                <ul className="plan-features">
                  {features.map((feature) => (
                    <li key={feature.id}>{feature.name}</li>
                  ))}
                </ul>
              )}
              {button(row, 'Choose plan')}
            </article>
          )
        })}
      </div>
      {oneTime.length > 0 && (
        <>
          <h3 className="subheading">One-time purchases</h3>
          <ul className="rows">
            {oneTime.map((row) => (
              <li key={row.price.id} className="row">
                <span>
                  <strong>{row.product.name}</strong>{' '}
                  <span className="muted">{formatPrice(row.price)}</span>
                </span>
                {button(row, 'Buy')}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  )
}
