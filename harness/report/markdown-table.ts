/** A GFM table; cells must already be escaped (escapeMarkdown / markdownCode). */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const rule = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  const line = (cells: readonly string[]) => `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
  return [line(head), line(rule), ...rows.map(line)].join('\n');
}

const eighths = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * A share as a bar of `width` characters at 1/8-character resolution, scaled so 100% fills the
 * width: the bars of one run add up to one full bar, like the slices of a pie.
 */
export function unicodeBar(share: number, width = 20): string {
  const units = Math.round(Math.min(Math.max(share, 0), 1) * width * 8);
  return '█'.repeat(Math.floor(units / 8)) + eighths[units % 8]!;
}
