import { useProblems } from '../problems'

/** Every known error, in one place (data-testid="error-banner"). */
export function ErrorBanner() {
  const { problems, set } = useProblems()
  if (problems.length === 0) return null
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <strong>Something went wrong</strong>
      <ul>
        {problems.map((problem) => (
          <li key={problem.source} data-source={problem.source}>
            <code>{problem.source}</code> {problem.message}
            {problem.dismissible && (
              <button
                type="button"
                className="link-button"
                onClick={() => set(problem.source, null)}
                aria-label={`Dismiss ${problem.source} error`}
              >
                Dismiss
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  )
}
