import { SaxesParser } from 'saxes';

/**
 * Well-formedness for the renderers' tests, by a strict XML parser (saxes): every problem it
 * reports, and the elements in document order with their attributes and text (entities decoded),
 * so tests can also count and read them.
 */
export interface XmlCheck {
  problems: string[];
  elements: { name: string; attributes: Record<string, string>; text: string }[];
}

export function checkXml(source: string): XmlCheck {
  const problems: string[] = [];
  const elements: XmlCheck['elements'] = [];
  const open: XmlCheck['elements'] = [];
  const parser = new SaxesParser();
  parser.on('error', (error) => problems.push(error.message));
  parser.on('opentag', (tag) => {
    const element = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, text: '' };
    elements.push(element);
    open.push(element);
  });
  parser.on('closetag', () => void open.pop());
  parser.on('text', (text) => {
    for (const element of open) element.text += text;
  });
  parser.write(source).close();
  return { problems, elements };
}

/** The text an XML fragment stands for, as the parser reads it (entities and character references decoded). */
export function decodeXml(text: string): string {
  const { problems, elements } = checkXml(`<r>${text}</r>`);
  if (problems.length > 0) throw new Error(`not XML text: ${problems.join('; ')}`);
  return elements[0]!.text;
}
