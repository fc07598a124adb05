import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { V1Pod } from '@kubernetes/client-node';
import type { NetworkFault, NodeFaults } from '../engine/chaos.ts';
import type { ChaosSpec } from '../engine/types.ts';
import { findGuestKernel } from './guest/kernel.ts';
import { labRunner } from './guest/lab-guest.ts';
import { labLayout } from './layout.ts';
import { labNames } from './names.ts';
import type { LabSpec } from './spec.ts';

/** The nftables table a network fault lives in, inside the namespace it affects (removed with it). */
const FAULT_TABLE = 'kth_chaos';

/** Whether a kernel's module tree holds the netem qdisc (Debian builds it as a module). */
function modulesHaveNetem(modulesDir: string): boolean {
  return ['sch_netem.ko', 'sch_netem.ko.xz', 'sch_netem.ko.zst'].some((file) => existsSync(join(modulesDir, 'kernel/net/sched', file)));
}

/**
 * Whether this kernel has the netem qdisc (delay, jitter). nftables drops packets, it cannot hold
 * them back, and netem is the kernel's one delay line; kernels built without it (this project's CI
 * host) can still lose and partition.
 */
function hostHasNetem(): boolean {
  try {
    const config = gunzipSync(readFileSync('/proc/config.gz')).toString('latin1');
    return /^CONFIG_NET_SCH_NETEM=[ym]$/m.test(config);
  } catch {
    // No config exposed: a module on disk is the other sign of it.
    return modulesHaveNetem(`/lib/modules/${release()}`);
  }
}

/**
 * Why a lab in `proxyMode` (on the host kernel, or in a guest) cannot inject `action`, or
 * undefined: known from the mode and the kernel alone, so runs are refused before a lab starts.
 */
export function labFaultUnsupported(spec: Pick<LabSpec, 'proxyMode'> & { guest?: unknown }, action: ChaosSpec): string | undefined {
  if ((action.action === 'kube-proxy-pause' || action.action === 'kube-proxy-restart') && spec.proxyMode === 'cilium') {
    return `proxy mode cilium has no kube-proxy (Cilium's agent replaces it); ${action.action} applies to iptables, nftables and ipvs`;
  }
  if (action.action === 'network' && (action.delay !== undefined || action.jitter !== undefined)) {
    if (spec.guest) {
      // The guest boots Debian's kernel, whose netem is a module the guest loads at boot.
      const kernel = findGuestKernel();
      return kernel && !modulesHaveNetem(kernel.modulesDir) ? `the guest kernel ${kernel.release} has no netem qdisc module, the kernel's only way to delay packets; loss and partition work (nftables)` : undefined;
    }
    if (!hostHasNetem()) return "this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set), the kernel's only way to delay packets; loss and partition work (nftables)";
  }
  return undefined;
}

/**
 * Faults injected into a lab the way the real thing happens on a node: kube-proxy stopped with
 * SIGSTOP (a hung process, its rules frozen) or restarted (the supervisor restarts it, as a
 * DaemonSet would), a node's uplink cut and its agent stopped (the machine is gone: pods
 * unreachable, no more heartbeats), packets dropped by nftables in a node's or pod's namespace.
 * Processes are found by the pid files the lab's supervisor writes, never by name.
 */
export function labFaults(spec: LabSpec): NodeFaults {
  const names = labNames(spec.name);
  const layout = labLayout(spec.name);
  const runner = labRunner(spec);
  const component = (kind: 'kube-proxy' | 'agent', node: number) => `${kind}-${names.nodeName(node)}`;

  const pidOf = (name: string): string => {
    const text = readFileSync(layout.pid(name), 'utf8').trim();
    return text.startsWith('guest:') ? text.slice('guest:'.length) : text;
  };
  /** A signal to a lab component, on the kernel it runs on (a guest's pids are the guest's). */
  const signal = async (name: string, sig: 'STOP' | 'CONT' | 'TERM'): Promise<string> => {
    const pid = pidOf(name);
    if (spec.guest) await runner(['kill', `-${sig}`, pid], { purpose: `send SIG${sig} to ${name}` });
    else process.kill(Number(pid), `SIG${sig}`);
    return pid;
  };
  const nftIn = async (netns: string, script: string, purpose: string) => {
    await runner(['ip', 'netns', 'exec', netns, 'nft', '-f', '-'], { input: script, purpose });
  };

  return {
    unsupported: (action) => labFaultUnsupported(spec, action),

    async pauseKubeProxy(node, paused) {
      const name = component('kube-proxy', node);
      const pid = await signal(name, paused ? 'STOP' : 'CONT');
      return `kube-proxy on ${names.nodeName(node)} ${paused ? 'paused (SIGSTOP' : 'resumed (SIGCONT'} pid ${pid})`;
    },

    async restartKubeProxy(node) {
      const name = component('kube-proxy', node);
      const before = pidOf(name);
      await signal(name, 'CONT'); // a paused process cannot act on SIGTERM
      await signal(name, 'TERM');
      // The supervisor restarts it after its backoff; report when the new process runs.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && pidOf(name) === before) await new Promise((resolve) => setTimeout(resolve, 100));
      const after = pidOf(name);
      return after === before ? `kube-proxy on ${names.nodeName(node)} stopped (pid ${before}); not restarted within 30 s` : `kube-proxy on ${names.nodeName(node)} restarted (pid ${before} → ${after})`;
    },

    async nodeDown(node, down) {
      const port = `v-n${node}`;
      const agent = component('agent', node);
      if (down) {
        // Network first: nothing the stopped agent might still send gets out.
        await runner(['ip', '-n', names.netns('sw'), 'link', 'set', port, 'down'], { purpose: `cut ${names.nodeName(node)}'s network` });
        const pid = await signal(agent, 'STOP');
        return `${names.nodeName(node)} down: network cut, node agent stopped (pid ${pid})`;
      }
      const pid = await signal(agent, 'CONT');
      await runner(['ip', '-n', names.netns('sw'), 'link', 'set', port, 'up'], { purpose: `restore ${names.nodeName(node)}'s network` });
      return `${names.nodeName(node)} up: network restored, node agent resumed (pid ${pid})`;
    },

    async network(where, fault: NetworkFault | undefined) {
      const netns = 'node' in where ? names.nodeNetns(where.node) : names.podNetns((where.pod as V1Pod).metadata?.uid ?? '');
      const label = 'node' in where ? names.nodeName(where.node) : `pod ${where.pod.metadata?.name}`;
      if (!fault) {
        await runner(['ip', 'netns', 'exec', netns, 'nft', 'delete', 'table', 'inet', FAULT_TABLE], { nothrow: true });
        await runner(['ip', 'netns', 'exec', netns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { nothrow: true });
        return `network of ${label} restored`;
      }
      const done: string[] = [];
      if (fault.lossPercent !== undefined) {
        // Both directions on the namespace's uplink; numgen draws per packet, as loss on a wire.
        const drop = fault.lossPercent >= 100 ? 'drop' : `numgen random mod 100 < ${Math.round(fault.lossPercent)} drop`;
        await nftIn(netns, `table inet ${FAULT_TABLE} {
  chain in { type filter hook prerouting priority -400; iifname "eth0" ${drop}; }
  chain out { type filter hook postrouting priority 400; oifname "eth0" ${drop}; }
}
`, `drop packets on ${label}`);
        done.push(fault.lossPercent >= 100 ? 'partitioned' : `${fault.lossPercent}% loss`);
      }
      if (fault.delayMs !== undefined) {
        await runner(['ip', 'netns', 'exec', netns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${fault.delayMs}ms`, ...(fault.jitterMs !== undefined ? [`${fault.jitterMs}ms`] : [])], { purpose: `delay packets on ${label}` });
        done.push(`${fault.delayMs} ms delay${fault.jitterMs !== undefined ? ` ± ${fault.jitterMs} ms` : ''}`);
      }
      return `network of ${label}: ${done.join(', ')}`;
    },
  };
}
