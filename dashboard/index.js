import { fileURLToPath } from 'node:url';

/** The built dashboard (index.html, audience.html, assets/): what the admin API and the audience gateways serve. */
export const dashboardDir = fileURLToPath(new URL('./dist', import.meta.url));
