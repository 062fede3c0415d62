import * as path from 'node:path';
import * as vscode from 'vscode';
import { isActiveState } from '../protocol/runSummary';
import { LogFollower } from '../runs/logFollower';
import { LOG_FILE } from '../runs/runManager';
import type { RunRegistry } from '../runs/runRegistry';

interface Channel {
  output: vscode.OutputChannel;
  follower: LogFollower;
}

/** One output channel per run showing its trainer.log (the trainer's stdout and stderr), followed live. */
export class RunLogChannels implements vscode.Disposable {
  private readonly channels = new Map<string, Channel>();

  constructor(private readonly registry: RunRegistry) {}

  show(runDir: string): void {
    let channel = this.channels.get(runDir);
    if (!channel) {
      const output = vscode.window.createOutputChannel(`SFT Studio: ${path.basename(runDir)}`, 'log');
      const follower = new LogFollower(path.join(runDir, LOG_FILE), (text) => output.append(text), {
        // A finished run's log no longer grows; one read shows all of it.
        keepFollowing: () => {
          const run = this.registry.get(runDir);
          return run !== undefined && isActiveState(run.state);
        },
      });
      channel = { output, follower };
      this.channels.set(runDir, channel);
    }
    // A resumed run appends to the same file: start() again picks up from where the channel stopped.
    channel.follower.start();
    channel.output.show(true);
  }

  dispose(): void {
    for (const { output, follower } of this.channels.values()) {
      follower.dispose();
      output.dispose();
    }
    this.channels.clear();
  }
}
