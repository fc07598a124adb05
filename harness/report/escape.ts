/**
 * Escaping for the three text formats the reports are written in. Every string that comes from the
 * data (pod names, check names, reasons, timeline details) goes through one of these: pod names
 * are not trusted to be RFC 1123 (a report can be edited, or come from a foreign cluster).
 */

// XML 1.0 forbids these code points even as character references; drop them rather than emit an
// unparsable file. Lone surrogates cannot be encoded as UTF-8 either.
const invalidXmlChars = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const xmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value for XML and HTML (the HTML report is also well-formed XML). */
export function escapeXml(value: unknown): string {
  return String(value)
    .replace(invalidXmlChars, '\uFFFD')
    .replace(/[&<>"']/g, (c) => xmlEntities[c]!);
}

/**
 * Prose inside a Markdown table cell or paragraph: no line breaks, no markup, no raw HTML. Only what
 * Markdown would interpret is escaped (`<` that opens a tag, `&` that forms an entity, a leading
 * block marker), so ordinary text still reads cleanly in a raw CI log.
 */
export function escapeMarkdown(value: unknown): string {
  return String(value)
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*_[\]|]/g, (c) => `\\${c}`)
    .replace(/<(?=[A-Za-z/!?])/g, '\\<')
    .replace(/&(?=#?[A-Za-z0-9]+;)/g, '\\&')
    .replace(/^(\s*)(>|[#+-](?=\s|$))/, '$1\\$2')
    .replace(/^(\s*\d{1,9})([.)])(?=\s|$)/, '$1\\$2');
}

/**
 * An identifier (pod, node, check, error kind) as a Markdown code span: shown literally, so names
 * stay readable in a raw CI log. `|` still needs escaping inside a GFM table cell.
 */
export function markdownCode(value: unknown): string {
  const text = String(value).replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
  if (text === '') return '';
  const fence = text.includes('`') ? '``' : '`';
  // A space keeps a leading/trailing backtick from merging with the fence (CommonMark strips one).
  return fence.length === 2 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}
