import { environmentError } from '../../core/errors.ts';
import { run } from '../../core/exec.ts';

/** The Docker engine's version when a daemon answers, undefined otherwise. */
export async function dockerServerVersion(): Promise<string | undefined> {
  const result = await run(['docker', 'version', '--format', '{{.Server.Version}}'], { nothrow: true, timeoutMs: 15_000 }).catch(() => undefined);
  return result && result.exitCode === 0 ? result.stdout.trim() : undefined;
}

export async function requireDocker(purpose: string): Promise<string> {
  const version = await dockerServerVersion();
  if (version) return version;
  throw environmentError(`${purpose} needs a Docker engine, and none answers on this host`, {
    where: 'docker',
    hint: 'install it (Debian: apt-get install -y docker.io) and start it (systemctl start docker, or run dockerd), then check with: docker info',
  });
}

/** One label of a local image; undefined when the image or the label is missing. */
export async function imageLabel(ref: string, label: string): Promise<string | undefined> {
  const result = await run(['docker', 'image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, ref], { nothrow: true, timeoutMs: 30_000 });
  const value = result.stdout.trim();
  return result.exitCode === 0 && value !== '' && value !== '<no value>' ? value : undefined;
}

export async function imageExists(ref: string): Promise<boolean> {
  const result = await run(['docker', 'image', 'inspect', '--format', '{{.Id}}', ref], { nothrow: true, timeoutMs: 30_000 });
  return result.exitCode === 0;
}

/**
 * BuildKit needs the buildx plugin in current Docker clients; without it the classic builder is
 * still there behind DOCKER_BUILDKIT=0. Our Dockerfile only copies files, so both build it alike.
 */
export async function buildkitEnv(): Promise<Record<string, string>> {
  const buildx = await run(['docker', 'buildx', 'version'], { nothrow: true, timeoutMs: 15_000 });
  return buildx.exitCode === 0 ? {} : { DOCKER_BUILDKIT: '0' };
}
