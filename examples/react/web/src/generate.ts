// Client for the example server's own premium endpoint, POST /api/generate
// (../generate.go). It is not part of Flowglad's SDK: it stands for an endpoint
// of your app, gated and metered on the server by flowglad-go's middleware. Its
// refusals use the envelope of the SDK's route:
// {"error": {"code", "message", "json": {"message", ...details}}}.

export interface Generation {
  text: string
  /** What the work used: the amount metered on the api-calls meter. */
  tokens: number
}

export type GenerateAnswer =
  | { ok: true; generation: Generation }
  | { ok: false; status: number; code: string; message: string; details: Record<string, unknown> }

interface Envelope {
  error?: { code?: string; message?: string; json?: Record<string, unknown> }
}

/**
 * Calls the endpoint. Resolves with the generation or the server's refusal;
 * rejects only when there is no JSON answer at all (network down, a proxy's
 * HTML error page).
 */
export async function generate(): Promise<GenerateAnswer> {
  const response = await fetch('/api/generate', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    credentials: 'same-origin',
    body: '{}',
  })
  // Reading the whole body matters: the server records the usage event before
  // the body ends, so a billing reload after this sees the new balance.
  const body: unknown = await response.json().catch(() => {
    throw new Error(`POST /api/generate failed: HTTP ${response.status}`)
  })
  if (response.ok) return { ok: true, generation: body as Generation }
  const error = (body as Envelope).error ?? {}
  const details = error.json ?? {}
  return {
    ok: false,
    status: response.status,
    code: error.code ?? `http_${response.status}`,
    message: typeof details.message === 'string' ? details.message : (error.message ?? `HTTP ${response.status}`),
    details,
  }
}
