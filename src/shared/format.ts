// One formatter for the sidebar, status bar and dashboard, so they print the same numbers.
import type { DownloadState, RunSummary } from '../protocol/runSummary';

/** Three significant digits (0.412, 1.23, 12.3); losses above 100 keep one decimal. */
export function formatLoss(loss: number): string {
  if (!Number.isFinite(loss)) return String(loss);
  if (Math.abs(loss) >= 100) return loss.toFixed(1);
  return String(Number(loss.toPrecision(3)));
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatStep(summary: Pick<RunSummary, 'step' | 'totalSteps'>): string | undefined {
  if (summary.step === undefined) return undefined;
  return summary.totalSteps !== undefined ? `step ${summary.step}/${summary.totalSteps}` : `step ${summary.step}`;
}

/** `1.2/2.6 GB`: both numbers in the unit of the total (kB, MB, GB; powers of 1000, as the trainer prints them). */
export function formatBytePair(done: number, total: number): string {
  const [unit, size] = total >= 1e9 ? ['GB', 1e9] : total >= 1e6 ? ['MB', 1e6] : ['kB', 1e3];
  return `${(done / size).toFixed(1)}/${(total / size).toFixed(1)} ${unit}`;
}

/** `downloading model 45% (1.2/2.6 GB)`: the Runs view, the status bar and the dashboard header. */
export function formatDownload(download: Pick<DownloadState, 'bytesDone' | 'bytesTotal'>): string {
  const percent = download.bytesTotal > 0 ? Math.floor((100 * download.bytesDone) / download.bytesTotal) : 100;
  return `downloading model ${percent}% (${formatBytePair(download.bytesDone, download.bytesTotal)})`;
}

/** `completed · step 120/120 · loss 0.412`: the tree item description. */
export function describeRun(summary: RunSummary): string {
  const parts: string[] = [summary.state];
  const step = formatStep(summary);
  if (step) parts.push(step);
  if (summary.loss !== undefined) parts.push(`loss ${formatLoss(summary.loss)}`);
  return parts.join(' · ');
}

/** `SFT step 40/120 · loss 1.23`: the status bar text after its icon. */
export function statusBarText(summary: RunSummary): string {
  if (summary.download) return `SFT ${formatDownload(summary.download)}`;
  const parts: string[] = [];
  parts.push(formatStep(summary) ?? summary.state);
  if (summary.loss !== undefined) parts.push(`loss ${formatLoss(summary.loss)}`);
  return `SFT ${parts.join(' · ')}`;
}
