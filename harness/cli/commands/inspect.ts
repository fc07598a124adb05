import type { Command } from 'commander';

interface InspectFlags {
  kubeconfig?: string;
  context?: string;
  lab?: string;
  json?: boolean;
}

/** `kth inspect service <namespace/name>`: the traffic path LB → NodePort → proxy mode → slices → pods. */
export function registerInspect(program: Command): void {
  const inspect = program.command('inspect').description('look at how traffic reaches a Service, layer by layer');
  inspect
    .command('service')
    .description('the traffic path of a Service: load balancer → NodePorts on nodes → ClusterIP → proxy mode (and, on a lab, each node’s kube-proxy rules) → EndpointSlices → pods')
    .argument('<namespace/name>', 'the Service, e.g. default/web')
    .option('--lab <name>', "a lab made by 'kth lab up': also reads each node's kube-proxy rules and health check answers")
    .option('--kubeconfig <path>', 'an existing cluster (default: $KUBECONFIG or ~/.kube/config); the proxy mode comes from the kube-proxy ConfigMap if any')
    .option('--context <name>', 'a context of the kubeconfig other than its current one')
    .option('--json', 'print the inspection as JSON')
    .action(async (ref: string, flags: InspectFlags) => {
      const { gatherInspection } = await import('../../inspect/gather.ts');
      const model = await gatherInspection({ service: ref, ...(flags.lab ? { lab: flags.lab } : {}), ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}) });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
        return;
      }
      const { renderInspection } = await import('../../inspect/render.ts');
      process.stdout.write(renderInspection(model, { fancy: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined }));
    });
}
