import { createHash } from "node:crypto";

/** `length` characters of [a-z0-9] derived from `text`: the body of the ids ECS hands out. */
export function shortHash(text: string, length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHash("sha256").update(text).digest();
  let id = "";
  for (let index = 0; index < length; index += 1) id += alphabet[(digest[index] ?? 0) % alphabet.length];
  return id;
}
