// "Chat with this checkpoint": picks the checkpoint (a run's newest one, or a chosen folder), offers the
// ONNX export when there is none, then opens the chat panel.
import type { Ui } from '../common/ui';
import { latestCheckpoint } from '../runs/checkpoints';
import { hasOnnxExport } from './onnxChat';

export interface ChatCommandDeps {
  ui: Ui;
  /** Runs `python -m sft_studio export-onnx CHECKPOINT`; resolves to an error message or undefined. */
  exportOnnx(checkpoint: string): Promise<string | undefined>;
  openChat(checkpoint: string): void | Promise<void>;
}

export const EXPORT_BUTTON = 'Export to ONNX';

/** `target` is a run folder or a checkpoint folder. */
export async function chatWithCheckpoint(deps: ChatCommandDeps, target: string): Promise<void> {
  const checkpoint = latestCheckpoint(target)?.path ?? target;
  if (!hasOnnxExport(checkpoint)) {
    const answer = await deps.ui.showInfo(`${checkpoint} has no ONNX export yet; chatting needs one (a few seconds for small models).`, EXPORT_BUTTON);
    if (answer !== EXPORT_BUTTON) return;
    const error = await deps.exportOnnx(checkpoint);
    if (error) {
      await deps.ui.showError(`ONNX export failed: ${error}`);
      return;
    }
  }
  await deps.openChat(checkpoint);
}
