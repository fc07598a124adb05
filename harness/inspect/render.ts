import { schedulerSpread } from './ipvs.ts';
import { describeIngressPath } from './ingress.ts';
import type { ChainCheck, ChainEndpoint, InspectedNode, PodView, RulesMode, ServiceInspection } from './model.ts';

/**
 * The human form of an inspection: one tree from the outside in — the Ingresses routing to the
 * Service and their controllers' replicas per node → load balancer → NodePorts on nodes →
 * ClusterIP → proxy mode and each node's rules → EndpointSlices → pods on nodes — then the
 * findings. On a terminal: box-drawing branches and colour; elsewhere (pipes, logs): ASCII, no colour.
 */
export interface RenderOptions {
  /** Box-drawing and ANSI colour (a TTY without NO_COLOR). */
  fancy: boolean;
}

interface TreeNode {
  text: string;
  children?: TreeNode[];
}

type Paint = (text: string) => string;

function painter(fancy: boolean) {
  const ansi = (code: string): Paint => (fancy ? (t) => `\u001b[${code}m${t}\u001b[0m` : (t) => t);
  return { bold: ansi('1'), red: ansi('31'), green: ansi('32'), yellow: ansi('33'), dim: ansi('2') };
}

function drawTree(root: TreeNode, fancy: boolean): string[] {
  const [tee, elbow, pipe, blank] = fancy ? ['├─ ', '└─ ', '│  ', '   '] : ['|- ', '`- ', '|  ', '   '];
  const lines = [root.text];
  const walk = (children: TreeNode[], prefix: string) => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      const [first, ...rest] = child.text.split('\n');
      lines.push(`${prefix}${last ? elbow : tee}${first}`);
      for (const line of rest) lines.push(`${prefix}${last ? blank : pipe}${line}`);
      walk(child.children ?? [], `${prefix}${last ? blank : pipe}`);
    });
  };
  walk(root.children ?? [], '');
  return lines;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

export function renderInspection(model: ServiceInspection, options: RenderOptions): string {
  const paint = painter(options.fancy);
  const svc = model.service;
  const head = [
    `${paint.bold(`Service ${svc.namespace}/${svc.name}`)}  type ${svc.type}`,
    svc.externalTrafficPolicy ? `externalTrafficPolicy ${svc.externalTrafficPolicy}` : '',
    svc.internalTrafficPolicy ? `internalTrafficPolicy ${svc.internalTrafficPolicy}` : '',
    `sessionAffinity ${svc.sessionAffinity}${svc.sessionAffinityTimeoutSeconds ? ` (${svc.sessionAffinityTimeoutSeconds}s)` : ''}`,
  ].filter(Boolean).join(' · ');
  const children: TreeNode[] = [];
  // ---- the Ingress layer in front (outermost first) -------------------------------------------
  for (const view of model.ingresses ?? []) {
    const path = describeIngressPath(view);
    children.push({ text: path.text, children: path.children.map((text) => ({ text })) });
  }
  const nodePorts = svc.ports.filter((p) => p.nodePort);
  const portLabel = (p: { port: number; protocol: string; name: string }) => `${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ''}`;

  // ---- load balancer --------------------------------------------------------------------------
  if (svc.type === 'LoadBalancer') {
    const nodesSent = model.nodes.filter((n) => n.healthCheck?.loadBalancerSends).map((n) => n.name);
    const lbKnows = model.nodes.some((n) => n.healthCheck?.loadBalancerSends !== undefined);
    const where = svc.externalTrafficPolicy === 'Local'
      ? lbKnows ? `the nodes the load balancer sends to: ${nodesSent.join(', ') || 'none'}` : 'the nodes whose health check passes'
      : 'every node';
    children.push(svc.loadBalancer.length === 0
      ? { text: paint.yellow('LoadBalancer: no address yet (status.loadBalancer.ingress is empty)') }
      : {
          text: `LoadBalancer ${svc.loadBalancer.map((i) => `${i.ip ?? i.hostname}${i.ipMode ? ` (ipMode ${i.ipMode})` : ''}`).join(', ')}`,
          children: svc.ports.map((p) => ({ text: `:${portLabel(p)} → ${p.nodePort ? `NodePort ${p.nodePort} on ${where}` : 'no node port (allocateLoadBalancerNodePorts: false)'}` })),
        });
  }

  // ---- node ports on nodes --------------------------------------------------------------------
  if (nodePorts.length > 0) {
    const local = svc.externalTrafficPolicy === 'Local';
    children.push({
      text: `NodePort ${nodePorts.map((p) => `${p.nodePort}/${p.protocol}${p.name ? ` (${p.name})` : ''}`).join(', ')} on every node${local ? ` · externalTrafficPolicy Local: healthCheckNodePort ${svc.healthCheckNodePort ?? '(none yet)'}` : ' · externalTrafficPolicy Cluster: any node forwards (source NAT)'}`,
      children: model.nodes.map((n) => ({ text: nodeLine(n, local, paint) })),
    });
  }

  // ---- cluster IP -----------------------------------------------------------------------------
  const headless = svc.clusterIPs.includes('None');
  children.push({
    text: headless ? 'ClusterIP None (headless: DNS answers with the pod addresses; kube-proxy does nothing)' : `ClusterIP ${svc.clusterIPs.join(', ') || '(none)'}${svc.externalIPs.length ? ` · externalIPs ${svc.externalIPs.join(', ')}` : ''}`,
    children: svc.ports.map((p) => ({
      text: `:${portLabel(p)} → targetPort ${p.targetPort}${p.endpointPorts.length ? ` (${p.endpointPorts.join(', ')} in the EndpointSlices)` : ''}`,
    })),
  });

  // ---- proxy mode and rules -------------------------------------------------------------------
  const proxy = model.proxy;
  children.push({
    text: `proxy mode ${paint.bold(proxy.mode)} (${proxy.mode === 'unknown' ? proxy.source : `from ${proxy.source}`})${proxy.nodes.length === 0 ? ' · rules not read' : ''}`,
    children: proxy.nodes.map((node) => {
      if (node.error) return { text: `${node.node}: ${paint.red(`rules not read: ${node.error}`)}` };
      const state = node.inSync ? paint.green('in sync with the EndpointSlices') : paint.red('OUT OF SYNC with the EndpointSlices (propagation not done)');
      const agent = node.agentError ? `\n${paint.yellow(`cilium-agent: ${node.agentError}; BPF maps read directly`)}` : '';
      return {
        text: `${node.node}${node.netns ? ` (netns ${node.netns})` : ''}: ${state}${agent}`,
        children: node.ports.map((port) => {
          const entries = [
            port.clusterIpChain ? `ClusterIP → ${port.clusterIpChain}` : '',
            port.externalChain ? `outside → ${port.externalChain}${port.externalTo?.length ? ` → ${port.externalTo.join(', ')}` : ' → nothing (dropped)'}` : '',
          ].filter(Boolean).join(' · ');
          const blocked = port.blocked.map((b) => `${b.destination}: ${b.verdict} (${b.reason})`);
          const pending = (port.pending ?? []).map((p) => `\n${paint.red(`agent ≠ maps: ${p}`)}`).join('');
          return {
            text: `port ${port.port || '(unnamed)'}/${port.protocol}${entries ? `: ${entries}` : ''}${blocked.length ? `\n${paint.yellow(`blocked: ${blocked.join('; ')}`)}` : ''}${pending}`,
            children: port.chains.map((chain) => chainNode(chain, node.mode, paint)),
          };
        }),
      };
    }),
  });

  // ---- slices and endpoints -------------------------------------------------------------------
  const s = model.summary;
  children.push({
    text: `EndpointSlices: ${plural(model.endpointSlices.length, 'slice')}, ${plural(s.endpoints, 'endpoint')} (${s.readyEndpoints} ready${s.servingTerminatingEndpoints ? `, ${s.servingTerminatingEndpoints} serving while terminating` : ''})`,
    children: model.endpointSlices.map((slice) => ({
      text: `${slice.name} ${slice.addressType} ports ${slice.ports.map((p) => `${p.name || '(unnamed)'} ${p.port}/${p.protocol}`).join(', ') || '(none)'}`,
      children: slice.endpoints.map((e) => {
        const state = e.ready ? paint.green('ready') : e.serving && e.terminating ? paint.yellow('serving, terminating') : e.terminating ? paint.red('terminating') : paint.red('not ready');
        return { text: `${e.addresses.join(', ')}  ${state}  ${e.nodeName ?? '(no node)'}${e.zone ? ` zone ${e.zone}` : ''}${e.hints ? ` hints ${JSON.stringify(e.hints)}` : ''} → ${e.pod ? `pod ${e.pod}` : '(no pod)'}` };
      }),
    })),
  });

  // ---- pods on nodes --------------------------------------------------------------------------
  const byNode = new Map<string, PodView[]>();
  for (const pod of model.pods) byNode.set(pod.node ?? '(unscheduled)', [...(byNode.get(pod.node ?? '(unscheduled)') ?? []), pod]);
  const selector = svc.selector ? Object.entries(svc.selector).map(([k, v]) => `${k}=${v}`).join(',') : undefined;
  children.push({
    text: `Pods: ${plural(model.pods.length, 'pod')}${selector ? ` (selector ${selector})` : ' (no selector: those the slices name)'}`,
    children: [...byNode.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([node, pods]) => ({
      text: node,
      children: pods.map((p) => ({
        text: `${p.name}  ${p.phase}  ${p.ready ? paint.green('Ready') : paint.red('not Ready')}  ${p.podIP ?? '(no IP)'}${p.deletionTimestamp ? paint.yellow(`  deleting since ${p.deletionTimestamp}`) : ''}${p.inSlices ? '' : paint.dim('  (not in the slices)')}`,
      })),
    })),
  });

  const lines = drawTree({ text: head, children }, options.fancy);
  if (model.findings.length > 0) {
    lines.push('', paint.bold('findings:'));
    for (const f of model.findings) lines.push(f.level === 'warning' ? paint.red(`  ! ${f.message}`) : paint.dim(`  - ${f.message}`));
  }
  const text = `${lines.join('\n')}\n`;
  return options.fancy ? text : asciiOnly(text);
}

/** Off a terminal the output is plain ASCII, so it survives any log viewer, grep and diff. */
function asciiOnly(text: string): string {
  return text.replaceAll(' · ', ', ').replaceAll('→', '->').replaceAll(' — ', ' - ').replaceAll('’', "'").replaceAll('≠', '!=');
}

function nodeLine(n: InspectedNode, local: boolean, paint: ReturnType<typeof painter>): string {
  const base = `${n.name} ${n.internalIP ?? '(no InternalIP)'}${n.ready ? '' : paint.red(' (node not Ready)')}`;
  if (!local) return `${base}: ${plural(n.localReadyEndpoints, 'local ready endpoint')}`;
  const hc = n.healthCheck;
  const expected = hc ? `health check should answer ${hc.expected}` : 'no health check node port';
  const observed = hc?.observed
    ? hc.observed.status !== undefined
      ? `answered ${hc.observed.status}${hc.observed.localEndpoints !== undefined ? ` (localEndpoints ${hc.observed.localEndpoints})` : ''}`
      : `no answer (${hc.observed.error})`
    : '';
  const lb = hc?.loadBalancerSends === undefined ? '' : `load balancer sends: ${hc.loadBalancerSends ? 'yes' : 'no'}`;
  const verdict = hc?.observed?.status !== undefined && hc.observed.status !== hc.expected ? paint.red(observed) : observed;
  return `${base}: ${plural(n.localReadyEndpoints, 'local ready endpoint')} → ${[expected, verdict, lb].filter(Boolean).join(', ')}`;
}

function chainNode(chain: ChainCheck, mode: RulesMode, paint: ReturnType<typeof painter>): TreeNode {
  const label = chain.kind === 'cluster' ? 'cluster' : 'local';
  const status = chain.inSync
    ? ''
    : paint.red(` — expected ${chain.expected.length}${chain.missing.length ? `, missing ${chain.missing.join(', ')}` : ''}${chain.unexpected.length ? `, stale ${chain.unexpected.join(', ')}` : ''}`);
  const unused = chain.used ? '' : paint.dim(' (not used by this Service’s traffic policies)');
  const children = chain.endpoints.map((e) => ({ text: endpointLine(e, mode) }));
  if (mode === 'cilium') {
    // Frontends sharing one backend table, named as `cilium-dbg bpf lb list` prints them.
    const frontends = chain.frontends?.length
      ? chain.frontends.map((f, i) => `${i === 0 || chain.frontends?.[i - 1]?.type !== f.type ? `${f.type} ` : ''}${f.key}`).join(', ')
      : chain.chain ?? '(none)';
    const absent = chain.chain?.endsWith('(not in the BPF maps)') ? paint.red(' (not in the BPF maps)') : '';
    const picked = chain.endpoints.filter((e) => e.share > 0).length;
    const kept = chain.endpoints.length - picked;
    return {
      text: `${label} frontends ${frontends}${absent}: ${plural(picked, 'backend')}${kept ? ` (+${kept} in the map, not picked for new connections)` : ''}${status}${unused}`,
      children,
    };
  }
  if (mode === 'ipvs') {
    // Virtual servers sharing one real-server table, as ipvsadm prints them, with their type.
    const servers = chain.frontends?.length ? chain.frontends.map((f) => `${f.type} ${f.key}`).join(', ') : chain.chain ?? '(none)';
    const absent = chain.chain?.includes('(not in the IPVS table)') ? paint.red(' (not in the IPVS table)') : '';
    const draining = chain.endpoints.filter((e) => e.state === 'draining').length;
    const scheduler = chain.scheduler ? ` · ${chain.scheduler}: ${schedulerSpread(chain.scheduler).how}` : '';
    return {
      text: `${label} virtual servers ${servers}${absent}${scheduler}: ${plural(chain.endpoints.length - draining, 'real server')}${draining ? paint.yellow(` (+${draining} draining at weight 0)`) : ''}${status}${unused}`,
      children: chain.endpoints.map((e) => ({ text: endpointLine(e, mode, chain.scheduler) })),
    };
  }
  return { text: `${label} ${chain.chain ?? '(no chain)'}: ${plural(chain.endpoints.length, 'endpoint')}${status}${unused}`, children };
}

function endpointLine(e: ChainEndpoint, mode: RulesMode, scheduler?: string): string {
  const who = e.pod ? `${e.pod} on ${e.node ?? '?'}` : '(no pod)';
  if (mode === 'ipvs') {
    const connections = `${e.activeConnections ?? 0} active, ${e.inactiveConnections ?? 0} inactive`;
    if (e.state === 'draining') return `${e.address}:${e.port}  ${e.forward ?? ''}  weight 0  draining: no new connections (${connections})  ${who}`;
    // rr/wrr: weight/sum is each server's share of new connections; otherwise only of the weights.
    const share = scheduler === undefined || schedulerSpread(scheduler).exact ? `${pct(e.share)} of new connections` : `${pct(e.share)} of the weight`;
    return `${e.address}:${e.port}  ${e.forward ?? ''}  weight ${e.weight ?? '?'}  ${share}  (${connections})  ${who}`;
  }
  if (mode === 'cilium') {
    const state = e.state ? `${e.state}  ` : '';
    const weight = e.weight !== undefined ? `weight ${e.weight}  ` : '';
    const share = e.share > 0 ? `${pct(e.share)} of new connections` : 'no new connections';
    return `${e.address}:${e.port}  ${state}${weight}${share}  ${who}`;
  }
  const probability = mode === 'iptables' && e.probability !== undefined ? `p=${e.probability === 1 ? '1' : e.probability.toFixed(4)}  ` : '';
  return `${e.address}:${e.port}  ${probability}${pct(e.share)} of new connections  ${who}`;
}
