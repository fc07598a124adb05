import { checkXml } from './xml.ts';

// The renderers' well-formedness tests lean on this checker: first make sure it catches what it must.
describe('checkXml (test helper)', () => {
  it('GIVEN well-formed XML with entities and self-closing tags THEN no problems and every element is seen', () => {
    const result = checkXml('<?xml version="1.0"?>\n<a x="1 &amp; 2"><b/>t &lt;&#39;&#x41;<c y=\'q\'>z</c></a>');
    expect(result.problems).toEqual([]);
    expect(result.elements.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(result.elements[0]!.attributes.x!).toBe('1 & 2');
  });

  it.each([
    ['a raw < in text', '<a>x < y</a>'],
    ['a raw & in text', '<a>x & y</a>'],
    ['a raw & in an attribute', '<a t="x & y"/>'],
    ['a raw < in an attribute', '<a t="<"/>'],
    ['crossed tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b></b>'],
    ['an unquoted attribute', '<a t=1/>'],
    ['a duplicate attribute', '<a t="1" t="2"/>'],
    ['two roots', '<a/><b/>'],
  ])('GIVEN %s THEN it reports a problem', (_, source) => {
    expect(checkXml(source).problems).not.toEqual([]);
  });
});
