/** The parts of the independent `@alicloud/log` client (plain JS, no typings) the data-plane tests use. */
declare module "@alicloud/log" {
  interface LogClientConfig {
    accessKeyId: string;
    accessKeySecret: string;
    securityToken?: string;
    endpoint: string;
  }
  interface PostedLog {
    timestamp: number;
    timestampNsPart?: number;
    content: Record<string, string>;
  }
  class Client {
    constructor(config: LogClientConfig);
    createLogStore(
      project: string,
      logstore: string,
      data?: { ttl?: number; shardCount?: number },
    ): Promise<unknown>;
    postLogStoreLogs(
      project: string,
      logstore: string,
      data: { logs: PostedLog[]; tags?: Record<string, string>[]; topic?: string; source?: string },
    ): Promise<unknown>;
    /** The signed request every call goes through (used for lz4 bodies, which postLogStoreLogs never sends). */
    _request(
      verb: string,
      project: string | undefined,
      path: string,
      queries: Record<string, string>,
      body: Buffer | null,
      headers: Record<string, string | number>,
    ): Promise<unknown>;
  }
  export = Client;
}
