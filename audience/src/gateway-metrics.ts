import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECTION_REASONS } from './protocol.js';

/**
 * The gateway's Prometheus metrics, on a registry of its own. They are NOT served on the audience
 * port (which serves nothing administrative): a node process includes them in its own metrics
 * (`node.metrics.include(registry)`), served at `GET /metrics` on the node's port, behind the cluster secret.
 *
 * - `highlander_audience_rejections_total{reason}`: every refusal a client was told about, by reason, plus
 *   `bad-request` (broken HTTP) and `malformed-frame` (a broken ws frame; the connection is closed);
 * - `highlander_audience_connections` (gauge) and `highlander_audience_connections_total`;
 * - `highlander_audience_positions_total`, `highlander_audience_emoji_total`: accepted messages;
 * - `highlander_audience_acks_total`: acknowledgements sent (the feedback is durable in its talk);
 * - `highlander_audience_batches_total{result}`: `apply` calls (`applied`, `duplicate`, `closed`, `retried`, `refused`);
 * - `highlander_audience_batch_apply_seconds`: time of successful `apply` calls;
 * - `highlander_audience_attendee_writes_total{result}`: lazy `attendee` writes (`ok`, `failed`).
 */
export class AudienceMetrics {
  readonly registry = new Registry();
  readonly rejections = new Counter({
    name: 'highlander_audience_rejections_total',
    help: 'Audience messages and connections refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly connections = new Gauge({ name: 'highlander_audience_connections', help: 'Open audience ws connections', registers: [this.registry] });
  readonly connectionsTotal = new Counter({ name: 'highlander_audience_connections_total', help: 'Audience ws connections accepted', registers: [this.registry] });
  readonly positions = new Counter({ name: 'highlander_audience_positions_total', help: 'Slider positions accepted', registers: [this.registry] });
  readonly emoji = new Counter({ name: 'highlander_audience_emoji_total', help: 'Emoji accepted', registers: [this.registry] });
  readonly acks = new Counter({ name: 'highlander_audience_acks_total', help: 'Acknowledgements sent (feedback durable in its talk)', registers: [this.registry] });
  readonly batches = new Counter({
    name: 'highlander_audience_batches_total',
    help: 'apply calls to talks, by result (applied | duplicate | closed | retried | refused)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly applySeconds = new Histogram({
    name: 'highlander_audience_batch_apply_seconds',
    help: 'Time of successful apply calls to talks',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly attendeeWrites = new Counter({
    name: 'highlander_audience_attendee_writes_total',
    help: 'Lazy attendee object writes, by result (ok | failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Every reason shows up at 0, so a dashboard can rate() it before the first refusal.
    for (const reason of REJECTION_REASONS) this.rejections.inc({ reason }, 0);
  }
}
