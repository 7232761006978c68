/** The XML OSS answers with: elements and text only, no namespace (unlike MNS's). */
import { node, renderXml, type XmlNode } from "../core/xmlWriter";

export { node, type XmlNode };

export function xmlDocument(rootName: string, children: XmlNode[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderXml(node(rootName, children))}`;
}
