// Follows a growing text file (a run's trainer.log) and hands over each appended piece once. A
// multi-byte character split across two reads is held back until complete (StringDecoder).
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Disposable } from '../common/emitter';

export interface LogFollowerOptions {
  pollMs?: number;
  /** Keep polling while this says so; checked after every read (default: forever). */
  keepFollowing?: () => boolean;
}

export class LogFollower implements Disposable {
  private offset = 0;
  private decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly onText: (text: string) => void,
    private readonly options: LogFollowerOptions = {},
  ) {}

  /** Reads what is there now, then polls until keepFollowing() turns false or dispose(). */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      void this.read().then(() => {
        if (this.options.keepFollowing && !this.options.keepFollowing()) this.stopPolling();
      });
    };
    this.timer = setInterval(tick, this.options.pollMs ?? 500);
    tick();
  }

  /** Reads the bytes appended since the last read; serialised so pieces never arrive out of order. */
  read(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce()).catch(() => undefined);
    return this.reading;
  }

  dispose(): void {
    this.stopPolling();
  }

  private stopPolling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async readOnce(): Promise<void> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.file, 'r');
    } catch {
      return; // not written yet
    }
    try {
      const { size } = await handle.stat();
      if (size < this.offset) {
        // Truncated or replaced: start over rather than miss the new content.
        this.offset = 0;
        this.decoder = new StringDecoder('utf8');
        this.onText('\n[trainer.log was truncated; showing it again from the start]\n');
      }
      const length = size - this.offset;
      if (length <= 0) return;
      const chunk = new Uint8Array(length);
      const { bytesRead } = await handle.read(chunk, 0, length, this.offset);
      this.offset += bytesRead;
      const text = this.decoder.write(Buffer.from(chunk.buffer, 0, bytesRead));
      if (text) this.onText(text);
    } finally {
      await handle.close();
    }
  }
}
