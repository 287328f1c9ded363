// Client for the example server's GET /api/usage-pipeline (../generate.go): where
// the usage of POST /api/generate is on its way to Flowglad. The server records
// that usage through flowglad-go's usage.Recorder, off the request path: an
// event is queued when the answer is written, and sent in the next batch.

export interface Pipeline {
  /** Events waiting for the next batch. */
  queued: number
  /** Events being sent to Flowglad now. */
  inFlight: number
  /** Events Flowglad has: the balance in billing includes them. */
  recorded: number
  /** Events Flowglad refused (logged by the server). */
  deadLettered: number
  /** Age of the oldest queued event, in milliseconds. */
  oldestMs: number
}

/** Reads the pipeline; rejects when the server does not answer with one. */
export async function readPipeline(signal?: AbortSignal): Promise<Pipeline> {
  const response = await fetch('/api/usage-pipeline', { credentials: 'same-origin', signal })
  if (!response.ok) throw new Error(`GET /api/usage-pipeline failed: HTTP ${response.status}`)
  return (await response.json()) as Pipeline
}
