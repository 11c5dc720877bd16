// Clean-up that does not stop at the first failure: every step is tried, and every failure is reported at
// the end. A test's `after` hook, a lab's destroy() and a test body that must undo what it did (heal a
// partition) use it, so one broken step never leaves the others' resources behind.

/** One clean-up step: a label for the report and the work. */
export type CleanUpStep = [label: string, run: () => Promise<unknown> | unknown];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs every step in order, each whether or not the ones before it failed; rejects listing all failures. */
export async function cleanUp(what: string, steps: CleanUpStep[]): Promise<void> {
  const problems: string[] = [];
  for (const [label, run] of steps) {
    try {
      await run();
    } catch (error) {
      problems.push(`${label}: ${messageOf(error)}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`${what}: ${problems.length} step(s) failed:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Runs `body`, then the clean-up steps whether `body` succeeded or not. When both fail, the body's error is
 * the one thrown (it says why the test failed), with the clean-up failures appended to its message.
 */
export async function withCleanUp<T>(body: () => Promise<T>, what: string, steps: CleanUpStep[]): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (error) {
    try {
      await cleanUp(what, steps);
    } catch (cleanUpError) {
      if (error instanceof Error) {
        error.message += `\n(and then) ${messageOf(cleanUpError)}`;
      } else {
        throw new AggregateError([error, cleanUpError], messageOf(cleanUpError));
      }
    }
    throw error;
  }
  await cleanUp(what, steps);
  return result;
}
