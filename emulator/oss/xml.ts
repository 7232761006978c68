/** The XML OSS answers with: elements and text only, no namespace (unlike MNS's). */
export interface XmlNode {
  name: string;
  value: string | number | XmlNode[];
}

export function node(name: string, value: XmlNode["value"]): XmlNode {
  return { name, value };
}

function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function render(xmlNode: XmlNode): string {
  const { name, value } = xmlNode;
  const content = Array.isArray(value) ? value.map(render).join("") : escapeText(String(value));
  return `<${name}>${content}</${name}>`;
}

export function xmlDocument(rootName: string, children: XmlNode[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(node(rootName, children))}`;
}
