/** Minimal typed event emitter for the vscode-free modules (the vscode one cannot be imported there). */
export interface Disposable {
  dispose(): void;
}

export type Listener<T> = (value: T) => void;

export class Emitter<T> {
  private listeners = new Set<Listener<T>>();

  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        // One broken subscriber (a disposed view) must not stop the others from updating.
        console.error('[sft-studio] listener failed', error);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
