/**
 * SnapshotStore on `@alicloud/oss20190517`: objects in one bucket of the hub, read and written
 * with the hub's own credentials (FC's role), like the hub's queues.
 */
import { Readable } from "node:stream";
import * as $Oss from "@alicloud/oss20190517";
import * as $Util from "@alicloud/tea-util";
import type { BucketAdminPort, ExpiryRule } from "../deploy/hubBucket";
import type { CredentialsPort } from "../ports/credentials";
import { errorCode, errorMessage } from "../ports/errors";
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
   * Makes an empty object unless one is there (`x-oss-forbid-overwrite`): true when this call made
   * it. Of callers racing for one key, exactly one wins.
   */
  async createOnce(key: string): Promise<boolean> {
    try {
      await this.call("PutObject", (oss) =>
        oss.putObjectWithOptions(
          this.scope.bucket,
          key,
          new $Oss.PutObjectRequest({ body: Readable.from([Buffer.alloc(0)]) }),
          new $Oss.PutObjectHeaders({ forbidOverwrite: true }),
          new $Util.RuntimeOptions({}),
        ),
      );
      return true;
    } catch (error) {
      if (errorCode(error) === "FileAlreadyExists") return false;
      throw error;
    }
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

  async expireObjects(rules: readonly ExpiryRule[]): Promise<void> {
    const configuration = new $Oss.LifecycleConfiguration({
      rule: rules.map(
        (rule) =>
          new $Oss.LifecycleRule({
            ID: rule.id,
            prefix: rule.prefix,
            status: "Enabled",
            lifecycleExpiration: new $Oss.LifecycleRuleLifecycleExpiration({ days: rule.days }),
          }),
      ),
    });
    try {
      await this.deployerCall("PutBucketLifecycle", (oss) =>
        oss.putBucketLifecycle(
          this.scope.bucket,
          new $Oss.PutBucketLifecycleRequest({ lifecycleConfiguration: configuration }),
        ),
      );
    } catch (error) {
      // The same quirk as putBucket: the SDK reads OSS's empty 200 answer as XML and throws this.
      // An error answer is read from its XML before (with OSS's own code), so this one means done.
      // (GetBucketLifecycle cannot confirm it: the SDK reads a single rule as an object and throws.)
      if (errorCode(error) === "UnknownError" && /not a valid value for parameter/.test(errorMessage(error)))
        return;
      throw error;
    }
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
