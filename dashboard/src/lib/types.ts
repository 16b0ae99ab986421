import type { ObjectView } from '@highlander/admin-api/protocol';

/**
 * The dashboard's own shapes. The admin API's (views, events, stream messages, REST answers) come
 * from `@highlander/admin-api/protocol`, imported with `import type` only: nothing of the server
 * reaches the browser bundle.
 */

/** One change to the set of active objects, as the cluster store tells its listeners (the map animates them). */
export type ObjectChange =
  | { kind: 'added'; object: ObjectView }
  | { kind: 'updated'; before: ObjectView; object: ObjectView }
  | { kind: 'removed'; before: ObjectView };
