import { createHash } from "node:crypto";
import type { Clock } from "../core/types";
import { crc64ecma } from "./crc64";
import { ossErrors } from "./errors";

export const storageClasses = ["Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"] as const;
export type StorageClass = (typeof storageClasses)[number];

export const bucketAcls = ["private", "public-read", "public-read-write"] as const;
export type BucketAcl = (typeof bucketAcls)[number];

export interface OssObject {
  key: string;
  body: Buffer;
  contentType: string;
  /** Emulator ms. */
  lastModified: number;
  /** Quoted upper-case hex MD5, as OSS writes the ETag of a simple upload. */
  etag: string;
  /** Base64 MD5 (the `Content-MD5` response header). */
  contentMd5: string;
  /** Unsigned decimal CRC-64/ECMA (`x-oss-hash-crc64ecma`). */
  crc64: string;
  /** `x-oss-meta-*` headers as sent (lower-case names). */
  userMetadata: Readonly<Record<string, string>>;
}

export interface OssBucket {
  name: string;
  region: string;
  ownerAccountId: string;
  /** Emulator ms. */
  createdAt: number;
  storageClass: StorageClass;
  acl: BucketAcl;
  objects: Map<string, OssObject>;
  /**
   * PutBucketLifecycle's rules, kept as given. OSS applies them once a day, in the background;
   * the emulator keeps them for GetBucketLifecycle and does not expire objects.
   */
  lifecycle?: LifecycleRule[];
}

export interface LifecycleRule {
  id: string;
  prefix: string;
  status: "Enabled" | "Disabled";
  expirationDays: number;
}

export interface CreateBucketInput {
  name: string;
  region: string;
  ownerAccountId: string;
  storageClass?: StorageClass;
  acl?: BucketAcl;
}

export interface PutObjectInput {
  body: Buffer;
  contentType: string;
  userMetadata?: Readonly<Record<string, string>>;
  /** `x-oss-forbid-overwrite: true`: an existing object is `409 FileAlreadyExists`. */
  forbidOverwrite?: boolean;
}

/** OSS bucket naming rules: 3–63 lower-case letters, digits and hyphens, starting and ending with a letter or digit. */
const bucketNamePattern = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function isValidBucketName(name: string): boolean {
  return bucketNamePattern.test(name);
}

/** 1–1023 bytes of UTF-8, not starting with `/` or `\`. */
export function isValidObjectKey(key: string): boolean {
  const bytes = Buffer.byteLength(key, "utf8");
  return bytes >= 1 && bytes <= 1023 && !key.startsWith("/") && !key.startsWith("\\");
}

/**
 * Buckets and their objects, in memory. Bucket names are one namespace shared by every account (as in
 * OSS); each bucket has an owner account and a region. Time only from the clock; no HTTP.
 */
export class OssBackend {
  private readonly bucketsByName = new Map<string, OssBucket>();

  constructor(private readonly clock: Clock) {}

  /**
   * Creates a bucket. The owner re-creating its bucket in the same region is a success that changes
   * nothing (`created: false`); a name taken by another account, or by the owner in another region,
   * is `409 BucketAlreadyExists`.
   */
  createBucket(input: CreateBucketInput): { bucket: OssBucket; created: boolean } {
    if (!isValidBucketName(input.name)) throw ossErrors.invalidBucketName(input.name);
    const existing = this.bucketsByName.get(input.name);
    if (existing !== undefined) {
      if (existing.ownerAccountId === input.ownerAccountId && existing.region === input.region)
        return { bucket: existing, created: false };
      throw ossErrors.bucketAlreadyExists(input.name);
    }
    const bucket: OssBucket = {
      name: input.name,
      region: input.region,
      ownerAccountId: input.ownerAccountId,
      createdAt: this.clock.now(),
      storageClass: input.storageClass ?? "Standard",
      acl: input.acl ?? "private",
      objects: new Map(),
    };
    this.bucketsByName.set(bucket.name, bucket);
    return { bucket, created: true };
  }

  findBucket(name: string): OssBucket | undefined {
    return this.bucketsByName.get(name);
  }

  /** The bucket, or `404 NoSuchBucket`. */
  getBucket(name: string): OssBucket {
    const bucket = this.bucketsByName.get(name);
    if (bucket === undefined) throw ossErrors.noSuchBucket(name);
    return bucket;
  }

  /** Every bucket, or those of one account, by name. */
  listBuckets(ownerAccountId?: string): OssBucket[] {
    return [...this.bucketsByName.values()]
      .filter((bucket) => ownerAccountId === undefined || bucket.ownerAccountId === ownerAccountId)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  putObject(bucketName: string, key: string, input: PutObjectInput): OssObject {
    const bucket = this.getBucket(bucketName);
    if (!isValidObjectKey(key)) throw ossErrors.invalidObjectName(key);
    if (input.forbidOverwrite === true && bucket.objects.has(key)) throw ossErrors.fileAlreadyExists(key);
    // A copy: the caller's buffer may be reused.
    const body = Buffer.from(input.body);
    const md5 = createHash("md5").update(body).digest();
    const object: OssObject = {
      key,
      body,
      contentType: input.contentType,
      lastModified: this.clock.now(),
      etag: `"${md5.toString("hex").toUpperCase()}"`,
      contentMd5: md5.toString("base64"),
      crc64: crc64ecma(body),
      userMetadata: { ...(input.userMetadata ?? {}) },
    };
    bucket.objects.set(key, object);
    return object;
  }

  /** The object, or `404 NoSuchKey` (`404 NoSuchBucket` first). */
  getObject(bucketName: string, key: string): OssObject {
    const object = this.getBucket(bucketName).objects.get(key);
    if (object === undefined) throw ossErrors.noSuchKey(key);
    return object;
  }

  /** True when an object was removed; a missing key is no error (OSS answers 204 either way). */
  deleteObject(bucketName: string, key: string): boolean {
    return this.getBucket(bucketName).objects.delete(key);
  }

  /** Keys of a bucket, sorted (for tests and inspection; ListObjects is not emulated over HTTP). */
  listKeys(bucketName: string, prefix = ""): string[] {
    return [...this.getBucket(bucketName).objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  reset(): void {
    this.bucketsByName.clear();
  }
}
