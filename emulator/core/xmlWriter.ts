/** Writing the XML the REST services (MNS, OSS) answer with: elements and text, nothing else. */

/** A node to serialize: text content or child nodes. */
export type XmlNode = { name: string; value: string | number | boolean | XmlNode[] };

export function node(name: string, value: XmlNode["value"]): XmlNode {
  return { name, value };
}

function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function renderXml(xmlNode: XmlNode): string {
  const { name, value } = xmlNode;
  const content = Array.isArray(value) ? value.map(renderXml).join("") : escapeText(String(value));
  return `<${name}>${content}</${name}>`;
}
