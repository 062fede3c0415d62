/** A vertical line at `x` with a short label, and a dot at `y` when the chart draws that value. */
export interface ChartMarker {
  x: number;
  y?: number;
  label: string;
  /** Read out and shown on hover: what the marker marks. */
  title: string;
  color: string;
  /** What tests and assistive technology identify it by (e.g. the step of a best evaluation). */
  key: string;
}
