import type { Problem } from '../api/client';

/**
 * An API refusal, explained: the problem document's title and detail (a 403 says which scope it needs), its stable
 * code, what the appliance said, and the request id to quote to whoever reads the logs.
 */
export function ProblemMessage({ problem, context }: { problem: Problem; context?: string }) {
  return (
    <div class="problem" role="alert">
      <p class="problem-title">
        {context ? `${context}: ` : ''}
        {problem.title}
        {problem.status ? ` (${problem.status})` : ''}
      </p>
      <p>{problem.detail}</p>
      {problem.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((error) => (
            <li key={error.field}>
              {error.field}: {error.message}
            </li>
          ))}
        </ul>
      )}
      {problem.upstream && problem.upstream.messages.length > 0 && (
        <ul aria-label="What the appliance said">
          {problem.upstream.messages.map((message) => (
            <li key={message.id}>{message.message}</li>
          ))}
        </ul>
      )}
      <p class="problem-meta">
        <code>{problem.code}</code>
        {problem.requestId ? <> · request {problem.requestId}</> : null}
      </p>
    </div>
  );
}
