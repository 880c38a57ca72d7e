import { ID_PATTERN } from '../../../src/common/identifier.js';
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

/** An identifier's rule, as the operator should read it: never the regular expression the API checks it with. */
const ID_WORDS = "must be 1 to 128 letters, digits, '.', '_', ':' or '-', beginning with a letter or a digit";

/**
 * "appliance must match ^[A-Za-z0-9]...$" becomes "appliance: must be 1 to 128 letters, ...": the field named once,
 * its rule in words (any other pattern: "must be in the accepted form").
 */
function fieldErrorText({ field, message }: FieldError): string {
  const own = message.startsWith(`${field} `) ? message.slice(field.length + 1) : message;
  const words = own.replace(/must match (\^\S*\$)/, (_all, pattern: string) =>
    pattern === ID_PATTERN.source ? ID_WORDS : 'must be in the accepted form',
  );
  return `${field}: ${words}`;
}
