// What "Chat with this checkpoint" was invoked on: a checkpoint row of the Runs view names its own
// folder (which runDirOf would turn into its run, and so into the run's newest checkpoint).

/** The checkpoint folder of a Runs view checkpoint node, else undefined. */
export function checkpointPathOf(arg: unknown): string | undefined {
  if (typeof arg !== 'object' || arg === null || !('checkpoint' in arg)) return undefined;
  const checkpoint = (arg as { checkpoint?: { path?: unknown } }).checkpoint;
  return typeof checkpoint?.path === 'string' && checkpoint.path.length > 0 ? checkpoint.path : undefined;
}
