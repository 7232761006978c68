/**
 * The RPC protocol's XML rendering (`Format=XML`): objects become elements, an array repeats its
 * parent's element name (`{Instances: {Instance: [a, b]}}` → `<Instances><Instance>a</Instance>…`).
 */
export function toXml(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(root, body)}`;
}

function element(name: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => element(name, item)).join("");
  if (value === null || value === undefined) return `<${name}/>`;
  if (typeof value === "object") {
    const children = Object.entries(value)
      .map(([key, child]) => element(key, child))
      .join("");
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) =>
    char === "<"
      ? "&lt;"
      : char === ">"
        ? "&gt;"
        : char === "&"
          ? "&amp;"
          : char === "'"
            ? "&apos;"
            : "&quot;",
  );
}
