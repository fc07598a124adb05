import type { Command } from 'commander';
import { badInput } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';
import { rbacManifest } from '../../existing/permissions.ts';
import { defaultImageTag, imageRef, imageTargets, prefixedImageRef } from '../../workloads/image/names.ts';

/** `kth existing …`: what using a cluster you own takes (`kth run --provider existing`). */
export function registerExisting(program: Command): void {
  const existing = program.command('existing').description('what kth run --provider existing needs from a cluster');
  existing
    .command('rbac')
    .description('print the ClusterRole and binding a cluster admin applies so a user can run scenarios (kubectl apply -f -)')
    .option('--user <name>', 'bind a user (as the API server authenticates it)')
    .option('--group <name>', 'bind a group')
    .option('--service-account <namespace/name>', 'bind a ServiceAccount (e.g. a CI runner\'s)')
    .action((flags: { user?: string; group?: string; serviceAccount?: string }) => {
      const given = [flags.user, flags.group, flags.serviceAccount].filter((value) => value !== undefined);
      if (given.length !== 1) throw badInput('name exactly one subject to bind', { where: 'kth existing rbac', hint: 'pass --user <name>, --group <name> or --service-account <namespace/name>' });
      let subject: Parameters<typeof rbacManifest>[0];
      if (flags.serviceAccount !== undefined) {
        const [namespace, name, extra] = flags.serviceAccount.split('/');
        if (!namespace || !name || extra !== undefined) throw badInput(`--service-account: '${flags.serviceAccount}' is not <namespace>/<name>`, { where: '--service-account' });
        subject = { kind: 'ServiceAccount', name, namespace };
      } else subject = flags.user !== undefined ? { kind: 'User', name: flags.user } : { kind: 'Group', name: flags.group as string };
      process.stdout.write(rbacManifest(subject));
    });
  existing
    .command('images')
    .description('build the harness images with the local Docker engine and tag them for your registry (--push sends them): what --image-prefix then names')
    .requiredOption('--prefix <registry/path>', 'where the cluster pulls from, e.g. ghcr.io/me')
    .option('--tag <tag>', 'image tag (the runs use the harness version)', defaultImageTag())
    .option('--push', 'docker push each image (log in to the registry first)')
    .action(async (flags: { prefix: string; tag: string; push?: boolean }) => {
      if (!/^[a-z0-9][a-z0-9.:_/-]*$/i.test(flags.prefix)) throw badInput(`--prefix: '${flags.prefix}' is not a registry and path`, { where: '--prefix', hint: 'e.g. ghcr.io/me or registry.example:5000/team' });
      const { buildImages } = await import('../../workloads/image/build.ts');
      const built = await buildImages({ tag: flags.tag });
      const prefix = flags.prefix.replace(/\/+$/, '');
      for (const target of imageTargets) {
        const local = built.images[target] ?? imageRef(target, flags.tag);
        const remote = prefixedImageRef(target, prefix, flags.tag);
        await run(['docker', 'tag', local, remote], { purpose: `tag ${remote}` });
        if (flags.push) await run(['docker', 'push', remote], { purpose: `push ${remote}` });
        process.stdout.write(`${remote}${flags.push ? ' (pushed)' : ''}\n`);
      }
      if (!flags.push) process.stdout.write(`tagged; push them with --push (after docker login), then: kth run … --provider existing --image-prefix ${prefix}\n`);
    });
}
