/** The error `fn` throws; fails the test when it throws nothing. For asserting on several fields of one error. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}
