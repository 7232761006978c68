/** Types for the parts of `@alicloud/mns` (plain JS, no bundled types) that this project uses. */
declare module "@alicloud/mns" {
  interface MnsClientOptions {
    accessKeyId: string;
    accessKeySecret: string;
    securityToken?: string;
    endpoint?: string;
    region?: string;
    readTimeout?: number;
    connectTimeout?: number;
  }

  /** `{code, headers, body}`; body is the parsed XML as xml2js gives it (shape checked by the tests). */
  interface MnsResponse {
    code: number;
    headers: Record<string, string | undefined>;
    body: unknown;
  }

  class Client {
    constructor(accountId: string, options: MnsClientOptions);
    createQueue(name: string, params?: Record<string, unknown>): Promise<MnsResponse>;
    deleteQueue(name: string): Promise<MnsResponse>;
    listQueue(start?: string, limit?: number, prefix?: string): Promise<MnsResponse>;
    getQueueAttributes(name: string): Promise<MnsResponse>;
    setQueueAttributes(name: string, params?: Record<string, unknown>): Promise<MnsResponse>;
    sendMessage(name: string, params: Record<string, unknown>): Promise<MnsResponse>;
    batchSendMessage(name: string, params: Record<string, unknown>[]): Promise<MnsResponse>;
    receiveMessage(name: string, waitSeconds?: number): Promise<MnsResponse>;
    batchReceiveMessage(name: string, numOfMessages: number, waitSeconds?: number): Promise<MnsResponse>;
    peekMessage(name: string): Promise<MnsResponse>;
    batchPeekMessage(name: string, numOfMessages: number): Promise<MnsResponse>;
    deleteMessage(name: string, receiptHandle: string): Promise<MnsResponse>;
    batchDeleteMessage(name: string, receiptHandles: string[]): Promise<MnsResponse>;
    changeMessageVisibility(
      name: string,
      receiptHandle: string,
      visibilityTimeout: number,
    ): Promise<MnsResponse>;
    /** The SDK's own request signer (base64 HMAC-SHA1 over the string to sign). */
    sign(verb: string, headers: Record<string, string>, resource: string): string;
  }

  export = Client;
}
