// Short-lived words about a run that its folder cannot tell yet (e.g. "stopping: SIGTERM sent"),
// shown beside it in the Runs view until the action is over.
import { Emitter, type Disposable } from '../common/emitter';

export class RunNotes implements Disposable {
  private readonly notes = new Map<string, string>();
  private readonly changeEmitter = new Emitter<string>();

  readonly onDidChange = this.changeEmitter.event;

  get(runDir: string): string | undefined {
    return this.notes.get(runDir);
  }

  set(runDir: string, note: string | undefined): void {
    if (note === undefined) this.notes.delete(runDir);
    else this.notes.set(runDir, note);
    this.changeEmitter.fire(runDir);
  }

  dispose(): void {
    this.notes.clear();
    this.changeEmitter.dispose();
  }
}
