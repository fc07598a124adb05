import type { Command } from 'commander';

/**
 * `kth lab agent --config <file>`: the lab node agent (kubelet + runtime substitute) for one node.
 * The lab supervisor starts it inside the node's network namespace; people do not run it by hand.
 * SIGTERM/SIGINT stop it and leave the node's pods running (a restarted agent adopts them).
 */
export function registerLabAgent(labCommand: Command): void {
  labCommand
    .command('agent', { hidden: true })
    .description("run a lab node's agent: registers the Node and runs the pods bound to it")
    .requiredOption('--config <file>', 'agent config (JSON) written by the lab supervisor')
    .action(async (options: { config: string }) => {
      // Loaded here, not at the top: `kth lab …` must not pay for every subcommand's imports.
      const { runAgent } = await import('../../lab/agent/agent.ts');
      const { loadAgentConfig } = await import('../../lab/agent/config.ts');
      const config = await loadAgentConfig(options.config);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await runAgent(config, controller.signal);
      // Open API sockets must not keep a stopped agent alive; pods are detached processes.
      process.exit(0);
    });
}
