import type { Problem } from '../api/client';

type FieldError = NonNullable<Problem['errors']>[number];

/**
 * An API refusal, explained: the problem document's title and detail (a 403 says which scope it needs), its stable
 * code, what the appliance said, and the request id to quote to whoever reads the logs.
 */
export function ProblemMessage({ problem, context }: { problem: Problem; context?: string }) {
  const errors = problem.errors ?? [];
  // A validation failure's detail repeats its field messages: they are said once, field by field.
  const repeated =
    errors.length > 0 &&
    (problem.detail === errors.map((error) => error.message).join('; ') ||
      errors.some((error) => error.message === problem.detail));
  return (
    <div class="problem" role="alert">
      <p class="problem-title">
        {context ? `${context}: ` : ''}
        {problem.title}
        {problem.status ? ` (${problem.status})` : ''}
      </p>
      {!repeated && <p>{problem.detail}</p>}
      {errors.length > 0 && (
        <ul>
          {errors.map((error) => (
            <li key={error.field}>{fieldErrorText(error)}</li>
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

/** "appliance must be 1 to 128 letters, ..." (the API says its rules in words) becomes "appliance: must be ...". */
function fieldErrorText({ field, message }: FieldError): string {
  const own = message.startsWith(`${field} `) ? message.slice(field.length + 1) : message;
  return `${field}: ${own}`;
}
