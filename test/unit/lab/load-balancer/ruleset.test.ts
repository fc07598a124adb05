import { renderDelete, renderRuleset, targetChain, type LbTarget } from '../../../../harness/lab/load-balancer/ruleset.ts';

const web: LbTarget = { service: 'shop/web', portName: 'http', ip: '198.18.32.1', protocol: 'TCP', port: 80, nodePort: 31000, nodes: ['198.18.0.13', '198.18.0.11', '198.18.0.12'] };

describe('renderRuleset', () => {
  it('GIVEN one Service port on three nodes THEN new connections are DNATed at random to node:NodePort, with no SNAT', () => {
    const text = renderRuleset({ table: 'kth_lb', pool: '198.18.32.0/24', targets: [web] });
    expect(text).toBe(`# kube-traffic-harness lab load balancer: generated, replaced as a whole on every change
table ip kth_lb
delete table ip kth_lb
table ip kth_lb {
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr . meta l4proto . th dport vmap { 198.18.32.1 . tcp . 80 : jump lb_198_18_32_1_tcp_80 }
\t}
\tchain lb_198_18_32_1_tcp_80 {
\t\tmeta l4proto tcp dnat ip to numgen random mod 3 map { 0 : 198.18.0.11, 1 : 198.18.0.12, 2 : 198.18.0.13 } : 31000 comment "shop/web:http -> NodePort 31000 on 3 nodes"
\t}
\tchain refuse {
\t\ttype filter hook prerouting priority dstnat + 10; policy accept;
\t\tip daddr 198.18.32.0/24 meta l4proto tcp reject with tcp reset comment "no healthy node for this address and port"
\t\tip daddr 198.18.32.0/24 reject comment "no healthy node for this address and port"
\t}
}
`);
    expect(text).not.toMatch(/snat|masquerade/);
  });

  it('GIVEN a port with no eligible node THEN it has no DNAT entry, so the refuse chain answers with a reset', () => {
    const text = renderRuleset({ table: 'kth_lb', pool: '198.18.32.0/24', targets: [{ ...web, nodes: [] }] });
    expect(text).not.toMatch(/vmap/);
    expect(text).not.toMatch(/chain lb_/);
    expect(text).toMatch(/reject with tcp reset/);
  });

  it('GIVEN several Services and protocols THEN entries are sorted by address, protocol and port (stable output)', () => {
    const targets: LbTarget[] = [
      { ...web, ip: '198.18.32.10', nodes: ['198.18.0.11'] },
      { ...web, service: 'shop/dns', portName: '', protocol: 'UDP', port: 53, nodePort: 31053, nodes: ['198.18.0.11'] },
      { ...web, port: 443, nodePort: 31443, nodes: ['198.18.0.12'] },
    ];
    const text = renderRuleset({ table: 't', pool: '198.18.32.0/24', targets });
    expect(text).toContain('vmap { 198.18.32.1 . tcp . 443 : jump lb_198_18_32_1_tcp_443, 198.18.32.1 . udp . 53 : jump lb_198_18_32_1_udp_53, 198.18.32.10 . tcp . 80 : jump lb_198_18_32_10_tcp_80 }');
    expect(text).toContain('meta l4proto udp dnat ip to numgen random mod 1 map { 0 : 198.18.0.11 } : 31053 comment "shop/dns -> NodePort 31053 on 1 node"');
    expect(renderRuleset({ table: 't', pool: '198.18.32.0/24', targets: [...targets].reverse() })).toBe(text);
  });

  it('names chains after address, protocol and port, and deletes only its own table', () => {
    expect(targetChain({ ip: '198.18.32.254', protocol: 'UDP', port: 5353 })).toBe('lb_198_18_32_254_udp_5353');
    expect(renderDelete('kth_lb')).toBe('table ip kth_lb\ndelete table ip kth_lb\n');
  });
});
