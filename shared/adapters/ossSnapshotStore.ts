/**
 * SnapshotStore on `@alicloud/oss20190517`: objects in one bucket of the hub, read and written
 * with the hub's own credentials (FC's role), like the hub's queues.
 */
import { Readable } from "node:stream";
import * as $Oss from "@alicloud/oss20190517";
import type { BucketAdminPort } from "../deploy/hubBucket";
import type { CredentialsPort } from "../ports/credentials";
import { errorCode } from "../ports/errors";
import type { SnapshotStore } from "../ports/snapshots";
import { type CallPolicy, cloudCall } from "./cloudCall";
import type { SdkClients } from "./sdkClients";

export interface OssSnapshotStoreDependencies {
  clients: SdkClients;
  credentials: CredentialsPort;
  policy: CallPolicy;
}

export class OssSnapshotStore implements SnapshotStore, BucketAdminPort {
  constructor(
    readonly scope: { accountId: string; region: string; bucket: string },
    private readonly deps: OssSnapshotStoreDependencies,
  ) {}

  async read(key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.call("GetObject", async (oss) => {
        const response = await oss.getObject(this.scope.bucket, key, new $Oss.GetObjectRequest({}));
        return readAll(response.body);
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === "NoSuchKey") return undefined;
      throw error;
    }
  }

  async write(key: string, body: Uint8Array): Promise<void> {
    await this.call("PutObject", (oss) =>
      oss.putObject(
        this.scope.bucket,
        key,
        new $Oss.PutObjectRequest({ body: Readable.from([Buffer.from(body)]) }),
      ),
    );
  }

  /**
   * A deploy step (`logtail-xacct queues`), run with the deployer's own identity: no role of the
   * tool is granted these calls, so they stay out of the RAM action table (deploy/ramActions.ts).
   */
  async ensureBucket(): Promise<"created" | "exists"> {
    try {
      await this.deployerCall("GetBucketInfo", (oss) => oss.getBucketInfo(this.scope.bucket));
      return "exists";
    } catch (error) {
      if ((error as { code?: unknown }).code !== "NoSuchBucket") throw error;
    }
    // Private (the default ACL): host IPs and machine ids are inside.
    try {
      await this.deployerCall("PutBucket", (oss) =>
        oss.putBucket(this.scope.bucket, new $Oss.PutBucketRequest({})),
      );
    } catch (error) {
      // The SDK (1.0.6, the only release) reads OSS's empty 200 answer as XML and throws without a
      // code although the bucket was made: the bucket's info says whether it is there.
      if (errorCode(error) !== "UnknownError") throw error;
      await this.deployerCall("GetBucketInfo", (oss) => oss.getBucketInfo(this.scope.bucket));
    }
    return "created";
  }

  private deployerCall<T>(operation: string, fn: (oss: ReturnType<SdkClients["oss"]>) => Promise<T>) {
    return this.call(operation, fn);
  }

  private call<T>(operation: string, fn: (oss: ReturnType<SdkClients["oss"]>) => Promise<T>): Promise<T> {
    const { accountId, region } = this.scope;
    return cloudCall(this.deps.policy, { service: "oss", operation, accountId, region }, async () => {
      const credentials = await this.deps.credentials.forAccount(accountId);
      return fn(this.deps.clients.oss(region, credentials));
    });
  }
}

async function readAll(body: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
