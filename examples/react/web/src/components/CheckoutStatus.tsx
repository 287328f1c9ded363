import { useState } from 'react'

type Outcome = 'success' | 'cancel'

function readOutcome(): Outcome | null {
  const value = new URLSearchParams(window.location.search).get('checkout')
  return value === 'success' || value === 'cancel' ? value : null
}

/**
 * Flowglad's hosted checkout sends the browser back to the successUrl or
 * cancelUrl we passed to createCheckoutSession (/?checkout=success|cancel).
 * The page reloads on return, so billing below is already fresh.
 */
export function CheckoutStatus() {
  const [outcome, setOutcome] = useState<Outcome | null>(readOutcome)
  if (!outcome) return null

  const dismiss = () => {
    const url = new URL(window.location.href)
    url.searchParams.delete('checkout')
    window.history.replaceState(null, '', url.pathname + url.search + url.hash)
    setOutcome(null)
  }

  return (
    <div
      className={outcome === 'success' ? 'banner banner-success' : 'banner banner-info'}
      role="status"
    >
      <span>
        Checkout result:{' '}
        <strong data-testid="checkout-status" data-state={outcome}>
          {outcome}
        </strong>
        {outcome === 'success'
          ? ' — your new plan is shown below.'
          : ' — nothing was charged.'}
      </span>
      <button type="button" className="link-button" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  )
}
