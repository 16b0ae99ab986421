import { AudienceGateway, audienceObjects, type AudienceGatewayOptions } from '@highlander/audience';
import { HighlanderNode, registerAdminExtension, type AnyObjectType, type HighlanderNodeOptions } from '@highlander/runtime';

/**
 * A node and the services that run in its process: with `audience`, an audience gateway (its talk
 * and attendee types registered on the node, its metrics served with the node's, its public URL in
 * the node's `/admin/services`). A node process and an embedded cluster start their nodes this way.
 *
 * ```ts
 * const service = await NodeService.start({ node: { name: 'node-a', coordinator, store, objects }, audience: { port: 8081 } });
 * console.log(service.node.address, service.gateway?.url);
 * await service.stop(); // the gateway hands what it accepted to the talks, then the node drains
 * ```
 */
export interface NodeServiceOptions {
  node: HighlanderNodeOptions;
  /** Runs an audience gateway in this node's process. @default none */
  audience?: AudienceGatewayOptions;
}

export class NodeService {
  #stopping: Promise<void> | undefined;

  private constructor(readonly node: HighlanderNode, readonly gateway: AudienceGateway | undefined) {}

  static async start(options: NodeServiceOptions): Promise<NodeService> {
    const objects = options.audience ? withAudienceObjects(options.node.objects) : options.node.objects;
    const node = HighlanderNode.create({ ...options.node, objects });
    await node.start();
    if (!options.audience) return new NodeService(node, undefined);
    let gateway: AudienceGateway;
    try {
      gateway = await AudienceGateway.start(node, options.audience);
    } catch (err) {
      await node.stop({ drain: true });
      throw err;
    }
    node.metrics?.include(gateway.metrics.registry); // served with the node's at GET /metrics on its port, never on the audience port
    registerAdminExtension(node, { name: 'audience', info: () => ({ url: gateway.url, connections: gateway.connectionCount }) });
    return new NodeService(node, gateway);
  }

  /** The gateway first (it hands the feedback it accepted to the talks while the node still runs), then the node. Idempotent. */
  stop(options: { drain?: boolean } = {}): Promise<void> {
    this.#stopping ??= (this.gateway?.close() ?? Promise.resolve()).then(() => this.node.stop(options));
    return this.#stopping;
  }
}

/** The application's types plus the audience's talk and attendee types (the application's win on a name clash). */
export function withAudienceObjects(objects: readonly AnyObjectType[]): AnyObjectType[] {
  return [...objects, ...audienceObjects.filter((t) => !objects.some((o) => o.type === t.type))];
}
