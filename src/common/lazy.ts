// Something heavy built on first use. Every caller of one value shares the same promise, so two
// serializers restoring panels at once (or a command racing a restore) build one host, not two;
// a load that fails is tried again at the next use instead of failing forever.
export interface Lazy<T> {
  /** The value, loading it on the first call. */
  get(): Promise<T>;
  /** The value if it has loaded, without loading it (for disposal). */
  current(): T | undefined;
}

export function lazy<T>(load: () => Promise<T>): Lazy<T> {
  let pending: Promise<T> | undefined;
  let value: T | undefined;
  return {
    get() {
      pending ??= load().then(
        (loaded) => (value = loaded),
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
      return pending;
    },
    current: () => value,
  };
}
