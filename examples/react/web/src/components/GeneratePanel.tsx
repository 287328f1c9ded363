import type { LoadedFlowgladContextValues } from '@flowglad/react'
import { useState } from 'react'
import { type GenerateAnswer, generate } from '../generate'
import { messageOf, useActionReporter } from '../problems'

const FEATURE = 'premium'

/**
 * A button for the server's own premium endpoint (POST /api/generate). The
 * server decides: the page shows its answer or its refusal. The usage goes
 * through the server's usage recorder (the pipeline panel below): the
 * api-calls balance above drops by what the work used when its batch lands.
 */
export function GeneratePanel({ billing }: { billing: LoadedFlowgladContextValues }) {
  const report = useActionReporter()
  const [pending, setPending] = useState(false)
  const [answer, setAnswer] = useState<GenerateAnswer | null>(null)

  const run = async () => {
    setPending(true)
    report('api/generate', null)
    try {
      const result = await generate()
      // A 4xx is the server's answer to this customer; a 5xx is our problem.
      if (!result.ok && result.status >= 500) {
        setAnswer(null)
        report('api/generate', result.message)
      } else {
        setAnswer(result)
      }
    } catch (err) {
      setAnswer(null)
      report('api/generate', messageOf(err))
    } finally {
      // After a success the balance changed on the server. After a refusal the
      // page's billing may be what is out of date (a plan changed elsewhere).
      await billing.reload().catch(() => undefined)
      setPending(false)
    }
  }

  return (
    <div className="generate" data-testid="generate-panel">
      <h3 className="subheading">Your premium endpoint</h3>
      <p className="muted small">
        <code>POST /api/generate</code> on the Go server: it needs the <code>{FEATURE}</code> feature
        and enough API calls, and meters what it uses.
      </p>
      <div className="actions">
        <button type="button" className="button" data-testid="generate" disabled={pending} onClick={run}>
          {pending ? 'Generating…' : 'Generate'}
        </button>
      </div>
      {answer?.ok && (
        <p data-testid="generate-result">
          <q data-testid="generate-text">{answer.generation.text}</q>{' '}
          <span className="muted">
            used <strong data-testid="generate-tokens">{answer.generation.tokens}</strong> API calls
          </span>
        </p>
      )}
      {answer && !answer.ok && (
        <p className="refusal" role="status" data-testid="generate-refusal" data-code={answer.code}>
          {refusalMessage(answer, billing)}
        </p>
      )}
    </div>
  )
}

type Refusal = Extract<GenerateAnswer, { ok: false }>

/** What to tell the customer, by the refusal's code. */
function refusalMessage(refusal: Refusal, billing: LoadedFlowgladContextValues): string {
  switch (refusal.code) {
    case 'feature_required': {
      // Name the plans that grant the feature, from the pricing model.
      const feature = String(refusal.details.feature ?? FEATURE)
      const plans = (billing.pricingModel?.products ?? [])
        .filter((product) => (product.features ?? []).some((f) => f.slug === feature))
        .map((product) => product.name)
      const upgrade = plans.length > 0 ? `upgrade to ${plans.join(' or ')}` : 'upgrade your plan'
      return `Your plan does not include ${feature}: ${upgrade} to use it.`
    }
    case 'usage_balance_exhausted':
      return `Not enough API calls left: ${String(refusal.details.available)} available, ${String(refusal.details.required)} needed. Buy credits or upgrade.`
    default:
      return refusal.message
  }
}
