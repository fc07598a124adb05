/**
 * A small XML well-formedness checker for the tests (no XML parser is installed): balanced,
 * properly nested tags, quoted attributes without duplicates, no raw `<` or stray `&` in text or
 * attributes, valid entity references. Returns the problems found (empty when well-formed) and the
 * elements seen, so tests can also count them.
 */
export interface XmlCheck {
  problems: string[];
  elements: { name: string; attributes: Record<string, string>; text: string }[];
}

const name = '[A-Za-z_:][-A-Za-z0-9_.:]*';
const entity = /&(?:#[0-9]+|#x[0-9A-Fa-f]+|amp|lt|gt|quot|apos);/y;

export function checkXml(source: string): XmlCheck {
  const problems: string[] = [];
  const elements: XmlCheck['elements'] = [];
  const stack: { name: string; element: XmlCheck['elements'][number] }[] = [];
  let roots = 0;
  let i = 0;
  const references = (chunk: string, at: number) => {
    for (let k = 0; k < chunk.length; k++) {
      if (chunk[k] === '&') {
        entity.lastIndex = k;
        if (!entity.test(chunk)) problems.push(`bad '&' at ${at + k}`);
      }
    }
  };
  const text = (chunk: string, at: number) => {
    references(chunk, at);
    if (chunk.trim() && stack.length === 0) problems.push(`text outside the root at ${at}`);
    for (const open of stack) open.element.text += chunk;
  };
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    if (lt === -1) {
      text(source.slice(i), i);
      break;
    }
    text(source.slice(i, lt), i);
    if (source.startsWith('<?', lt)) {
      i = source.indexOf('?>', lt) + 2;
    } else if (source.startsWith('<!--', lt)) {
      i = source.indexOf('-->', lt) + 3;
    } else if (source.startsWith('<!DOCTYPE', lt)) {
      i = source.indexOf('>', lt) + 1;
    } else if (source.startsWith('</', lt)) {
      const match = new RegExp(`^</(${name})\\s*>`).exec(source.slice(lt));
      if (!match) {
        problems.push(`bad end tag at ${lt}`);
        i = lt + 2;
        continue;
      }
      const open = stack.pop();
      if (open?.name !== match[1]) problems.push(`</${match[1]}> at ${lt} closes <${open?.name ?? 'nothing'}>`);
      i = lt + match[0].length;
    } else {
      const match = new RegExp(`^<(${name})((?:\\s+${name}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`).exec(source.slice(lt));
      if (!match) {
        problems.push(`bad start tag at ${lt}: ${JSON.stringify(source.slice(lt, lt + 40))}`);
        i = lt + 1;
        continue;
      }
      const attributes: Record<string, string> = {};
      for (const attr of match[2]!.matchAll(new RegExp(`(${name})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g'))) {
        if (attr[1]! in attributes) problems.push(`duplicate attribute ${attr[1]} at ${lt}`);
        const value = attr[2] ?? attr[3] ?? '';
        references(value, lt);
        attributes[attr[1]!] = value;
      }
      const element = { name: match[1]!, attributes, text: '' };
      elements.push(element);
      if (stack.length === 0) roots++;
      if (!match[3]) stack.push({ name: match[1]!, element });
      i = lt + match[0].length;
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.map((s) => s.name).join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return { problems, elements };
}

/** Decodes the five predefined entities and character references (for comparing text with data). */
export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, ref: string) =>
    ref[0] === '#' ? String.fromCodePoint(ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[ref]!,
  );
}
