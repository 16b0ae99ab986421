/**
 * Geometry of the presenter view's charts, computed by D3 and drawn by Svelte: the average as a
 * half-circle gauge, and the histogram of positions. Pure, unit-tested.
 */
import { arc, interpolateRgb, scaleBand, scaleLinear } from 'd3';

/** The gauge sweeps from 9 o'clock (0, "not great") over the top to 3 o'clock (100, "love it"); d3 angles run clockwise from 12. */
export const GAUGE_START_RAD = -Math.PI / 2;
export const GAUGE_END_RAD = Math.PI / 2;

/** The angle of a 0..100 value on the gauge (clamped). */
export function gaugeAngle(value: number): number {
  const v = Math.min(100, Math.max(0, value));
  return GAUGE_START_RAD + (v / 100) * (GAUGE_END_RAD - GAUGE_START_RAD);
}

/** A point at `radius` along `angle` (d3's convention), relative to the centre. */
export function polar(angle: number, radius: number): { x: number; y: number } {
  return { x: radius * Math.sin(angle), y: -radius * Math.cos(angle) };
}

/** Red (not great) through amber to green (love it); the same in both themes. */
const LOW = '#e5534b';
const MID = '#e0a030';
const HIGH = '#3fb27f';
export function gaugeColor(value: number): string {
  const v = Math.min(100, Math.max(0, value));
  return v <= 50 ? interpolateRgb(LOW, MID)(v / 50) : interpolateRgb(MID, HIGH)((v - 50) / 50);
}

export interface GaugeGeometry {
  /** The whole track. */
  track: string;
  /** From 0 to the value (empty without one). */
  fill: string;
  color: string;
  /** The knob on the ring at the value (null without one). */
  knob: { x: number; y: number } | null;
  ticks: Array<{ value: number; inner: { x: number; y: number }; outer: { x: number; y: number }; label: { x: number; y: number } }>;
}

/** Paths for a gauge of outer `radius` and ring `thickness`, centred at (0, 0), for `value` (null: no data). */
export function gaugeGeometry(value: number | null, radius: number, thickness: number): GaugeGeometry {
  const inner = Math.max(0, radius - thickness);
  const ring = arc<{ startAngle: number; endAngle: number }>().innerRadius(inner).outerRadius(radius).cornerRadius(Math.min(6, thickness / 4));
  const track = ring({ startAngle: GAUGE_START_RAD, endAngle: GAUGE_END_RAD }) ?? '';
  const fill = value === null ? '' : (ring({ startAngle: GAUGE_START_RAD, endAngle: gaugeAngle(value) }) ?? '');
  const ticks = [0, 25, 50, 75, 100].map((v) => {
    const angle = gaugeAngle(v);
    return { value: v, inner: polar(angle, inner - 4), outer: polar(angle, inner - 10), label: polar(angle, inner - 22) };
  });
  return {
    track,
    fill,
    color: value === null ? 'var(--text-muted)' : gaugeColor(value),
    knob: value === null ? null : polar(gaugeAngle(value), (inner + radius) / 2),
    ticks,
  };
}

export interface HistogramBar {
  /** 0, 10, …, 100: the positions that round to it. */
  bucket: number;
  count: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Bars for the 11 buckets (0, 10, …, 100) in a `width` × `height` plot; the y scale's ticks too. */
export function histogramLayout(histogram: readonly number[], width: number, height: number): { bars: HistogramBar[]; yTicks: Array<{ value: number; y: number }>; max: number } {
  const buckets = Array.from({ length: 11 }, (_, i) => i * 10);
  const counts = buckets.map((_, i) => histogram[i] ?? 0);
  const max = Math.max(1, ...counts);
  const x = scaleBand<number>().domain(buckets).range([0, width]).paddingInner(0.18).paddingOuter(0.05);
  const y = scaleLinear().domain([0, max]).nice().range([height, 0]);
  const bars = buckets.map((bucket, i) => {
    const count = counts[i]!;
    const top = y(count);
    return { bucket, count, x: x(bucket) ?? 0, y: top, width: x.bandwidth(), height: height - top };
  });
  const yTicks = y.ticks(Math.min(4, y.domain()[1]!)).filter((t) => Number.isInteger(t)).map((value) => ({ value, y: y(value) }));
  return { bars, yTicks, max: y.domain()[1]! };
}
