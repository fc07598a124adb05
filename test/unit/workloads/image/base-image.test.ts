import { existsSync } from 'node:fs';
import { sharedLibraries } from '../../../../harness/workloads/image/base-image.ts';
import { imageRef, baseImageRef } from '../../../../harness/workloads/image/names.ts';

describe('base image contents', () => {
  it('GIVEN this host\'s node binary WHEN its libraries are listed THEN they are absolute paths that exist, loader included', async () => {
    const libraries = await sharedLibraries([process.execPath]);
    expect(libraries.length).toBeGreaterThan(1);
    for (const library of libraries) {
      expect(library.startsWith('/')).toBe(true);
      expect(existsSync(library)).toBe(true);
    }
    expect(libraries.some((library) => /ld-linux|ld-musl/.test(library))).toBe(true);
    expect(libraries.some((library) => /libc\.so|ld-musl/.test(library))).toBe(true);
  });

  it('GIVEN a target and tag WHEN named THEN images follow kube-traffic-harness/<target>:<tag>', () => {
    expect(imageRef('http-server', '1.2.3')).toBe('kube-traffic-harness/http-server:1.2.3');
    expect(imageRef('grpc-server', 'dev')).toBe('kube-traffic-harness/grpc-server:dev');
    expect(baseImageRef('20.20.2')).toBe('kube-traffic-harness/node-base:20.20.2');
  });
});
