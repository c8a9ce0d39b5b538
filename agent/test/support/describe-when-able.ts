/**
 * `describe` for suites that need something the machine may lack (root, Linux, a tool): with a
 * reason they skip and say why — except under CI=true, where nothing may skip, so the suite fails
 * with that reason instead.
 */
export function describeWhenAble(name: string, cannotRun: string | null, body: () => void): void {
  if (cannotRun && process.env.CI !== 'true') {
    describe.skip(`${name} (skipped: ${cannotRun})`, body);
    return;
  }
  describe(name, () => {
    if (cannotRun) {
      test('environment', () => {
        throw new Error(`CI=true but this suite cannot run: ${cannotRun}`);
      });
      return;
    }
    body();
  });
}
