/** The built dashboard (index.html, audience.html, assets/): what the admin API and the audience gateways serve. */
export declare const dashboardDir: string;
