export const APP_ROLE = "betblocker_api";

export interface TestClusterInfo {
  adminUrl: string;
  template: string;
  /** Every database of this run starts with it, so teardown drops exactly ours. */
  prefix: string;
  appPassword: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    betblockerDb: TestClusterInfo;
  }
}

export function databaseUrl(
  serverUrl: string,
  database: string,
  user?: { name: string; password: string },
): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  if (user) {
    url.username = user.name;
    url.password = user.password;
  }
  return url.toString();
}
