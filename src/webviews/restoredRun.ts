// Which run a panel restored after a reload may show. Its saved state comes from the webview, so
// the run folder in it is taken only when the registry knows it (found under the run roots or
// spawned by this window): a tampered state cannot turn `/etc` into a "crashed run" with a Delete entry.
import type { RunRegistry } from '../runs/runRegistry';

export async function restorableState<State extends { runDir: string }>(
  state: unknown,
  isState: (value: unknown) => value is State,
  registry: Pick<RunRegistry, 'knows'>,
): Promise<State | undefined> {
  return isState(state) && (await registry.knows(state.runDir)) ? state : undefined;
}
