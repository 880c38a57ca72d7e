import type { Problem } from '../api/client';
import { ProblemMessage } from './problem-message';
import type { FailureKind } from './use-confirmed-run';

/**
 * A run that did not answer with a job, said as the audit trail says it. Refused: nothing started, and trying again
 * is safe. Unknown: the backup may have started, so the next step is the job list, not another click.
 */
export function RunFailure({
  problem,
  kind,
  onRetry,
  onShowJobs,
  jobsLabel,
}: {
  problem: Problem;
  kind: FailureKind;
  onRetry: () => void;
  onShowJobs: () => void;
  jobsLabel: string;
}) {
  if (kind === 'refused') {
    return (
      <>
        <ProblemMessage problem={problem} context="Refused, nothing started" />
        <button type="button" class="secondary" onClick={onRetry}>
          Try again
        </button>
      </>
    );
  }
  return (
    <>
      <ProblemMessage problem={problem} context="Unknown: the backup may have started" />
      <p>Check the recent jobs before starting another: if it did not start, run it again from there.</p>
      <button type="button" class="secondary" onClick={onShowJobs}>
        {jobsLabel}
      </button>
    </>
  );
}
