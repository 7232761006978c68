import { renderXml, type XmlNode } from "../core/xmlWriter";
import { mnsErrors } from "./errors";

/**
 * The small XML dialect MNS speaks: elements, text, attributes (ignored), CDATA, entities; no mixed
 * content. Namespace prefixes are dropped (`mns:Queue` → `Queue`).
 */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const entities: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return entities[entity] ?? whole;
  });
}

function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Parses a document into its root element; malformed input is MNS's `MalformedXML`. */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let position = 0;
  const appendText = (text: string) => {
    const current = stack[stack.length - 1];
    if (current !== undefined) current.text += text;
    else if (text.trim() !== "") throw mnsErrors.malformedXml();
  };

  while (position < source.length) {
    const open = source.indexOf("<", position);
    if (open < 0) {
      appendText(decodeEntities(source.slice(position)));
      break;
    }
    if (open > position) appendText(decodeEntities(source.slice(position, open)));
    if (source.startsWith("<?", open)) {
      position = endOf(source, "?>", open);
    } else if (source.startsWith("<!--", open)) {
      position = endOf(source, "-->", open);
    } else if (source.startsWith("<![CDATA[", open)) {
      const end = endOf(source, "]]>", open);
      appendText(source.slice(open + 9, end - 3));
      position = end;
    } else if (source.startsWith("<!", open)) {
      position = endOf(source, ">", open);
    } else if (source.startsWith("</", open)) {
      const end = endOf(source, ">", open);
      const name = localName(source.slice(open + 2, end - 1).trim());
      const closed = stack.pop();
      if (closed === undefined || closed.name !== name) throw mnsErrors.malformedXml();
      position = end;
    } else {
      const end = endOf(source, ">", open);
      const inner = source.slice(open + 1, end - 1);
      const selfClosing = inner.endsWith("/");
      const nameMatch = /^[^\s/>]+/.exec(inner);
      if (nameMatch === null) throw mnsErrors.malformedXml();
      const element: XmlElement = { name: localName(nameMatch[0]), children: [], text: "" };
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.children.push(element);
      else if (root === undefined) root = element;
      else throw mnsErrors.malformedXml();
      if (!selfClosing) stack.push(element);
      position = end;
    }
  }
  if (root === undefined || stack.length > 0) throw mnsErrors.malformedXml();
  return root;
}

function endOf(source: string, terminator: string, from: number): number {
  const index = source.indexOf(terminator, from);
  if (index < 0) throw mnsErrors.malformedXml();
  return index + terminator.length;
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((candidate) => candidate.name === name);
}

export function childText(element: XmlElement, name: string): string | undefined {
  return child(element, name)?.text;
}

export { node, type XmlNode } from "../core/xmlWriter";

export const mnsNamespace = "http://mns.aliyuncs.com/doc/v1/";

export function xmlDocument(rootName: string, children: XmlNode[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${rootName} xmlns="${mnsNamespace}">${children.map(renderXml).join("")}</${rootName}>`;
}
