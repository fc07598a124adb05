import { escapeMarkdown, escapeXml, markdownCode } from '../../../harness/report/escape.ts';
import { checkXml, decodeXml } from './xml.ts';

describe('escapeXml', () => {
  it('GIVEN markup characters and control characters THEN the result is safe as text and attribute and decodes back', () => {
    const raw = `a<b>&"c'\u0001d\uD800e`;
    const escaped = escapeXml(raw);
    expect(checkXml(`<r t="${escaped}">${escaped}</r>`).problems).toEqual([]);
    // Control characters and lone surrogates are not allowed in XML 1.0: replaced, not passed through.
    expect(decodeXml(escaped)).toBe('a<b>&"c\'\uFFFDd\uFFFDe');
  });
});

describe('escapeMarkdown', () => {
  it('GIVEN text with tags, entities, table pipes and emphasis THEN each is backslash-escaped', () => {
    expect(escapeMarkdown('<script>a|b *c* &amp; d_e')).toBe('\\<script>a\\|b \\*c\\* \\&amp; d\\_e');
  });

  it('GIVEN plain prose with & and comparisons THEN it stays as written (readable in a raw log)', () => {
    expect(escapeMarkdown('load & chaos, p < 0.01, 0.420')).toBe('load & chaos, p < 0.01, 0.420');
  });

  it('GIVEN text starting with a block marker or spanning lines THEN it stays one inline run', () => {
    expect(escapeMarkdown('# not a heading\nsecond line')).toBe('\\# not a heading second line');
    expect(escapeMarkdown('> quote')).toBe('\\> quote');
    expect(escapeMarkdown('1. item')).toBe('1\\. item');
  });
});

describe('markdownCode', () => {
  it('GIVEN a name with backticks or a pipe THEN the code span holds it whole and the pipe cannot split a table cell', () => {
    expect(markdownCode('web-<&>')).toBe('`web-<&>`');
    expect(markdownCode('a`b')).toBe('`` a`b ``');
    expect(markdownCode('a|b')).toBe('`a\\|b`');
  });
});
