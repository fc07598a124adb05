import type { Command } from 'commander';

/**
 * `kth lab lb-controller --config <file>` (hidden): the lab load balancer, started by the lab
 * supervisor inside the lab's load-balancer namespace. Runs until SIGTERM/SIGINT, then removes its
 * nft table and exits 0.
 */
export function registerLabLoadBalancer(lab: Command): void {
  lab
    .command('lb-controller', { hidden: true })
    .description('the lab load balancer for type: LoadBalancer Services (run by the lab supervisor)')
    .requiredOption('--config <file>', 'JSON written by the lab supervisor')
    .action(async (options: { config: string }) => {
      // Loaded here, not at the top: `kth lab …` must not pay for every subcommand's imports.
      const { readLoadBalancerConfig } = await import('../../lab/load-balancer/config.ts');
      const { LoadBalancerController } = await import('../../lab/load-balancer/controller.ts');
      const config = await readLoadBalancerConfig(options.config);
      const controller = new LoadBalancerController({ config });
      let stopping: Promise<void> | undefined;
      const stop = (signal: string) => {
        stopping ??= (async () => {
          process.stdout.write(`${new Date().toISOString()} ${signal}: stopping\n`);
          const force = setTimeout(() => process.exit(1), 10_000);
          await controller.stop().catch((error: Error) => process.stderr.write(`stop failed: ${error.message}\n`));
          clearTimeout(force);
          process.exit(0);
        })();
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      await controller.start();
      await new Promise(() => {}); // runs until a signal
    });
}
