import { describe, expect, it } from 'vitest';
import type { WorkloadSpec } from '../runtime.ts';
import { WorkloadError } from '../runtime.ts';
import { containerOptions } from './container-options.ts';

const agent = { namespace: 'team-a', name: 'coder', uid: 'uid-1' };
const base: WorkloadSpec = { agent, image: 'agent-orchestrator/runner:dev', env: [{ name: 'A', value: '1' }], specHash: 'h1' };

describe('containerOptions', () => {
  it('makes the hardened container it always made when the new fields are unset', () => {
    const options = containerOptions(base, 'host');
    expect(options).toMatchObject({ name: 'ao.team-a.coder', Image: base.image, Env: ['A=1'] });
    expect(options.HostConfig).toEqual({
      NetworkMode: 'host',
      RestartPolicy: { Name: 'no' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
    });
    expect(options).not.toHaveProperty('WorkingDir');
  });

  it.each([
    ['a GPU in limits', { limits: { 'nvidia.com/gpu': 1 } }, 1],
    ['GPUs in requests and limits', { requests: { 'nvidia.com/gpu': '2' }, limits: { 'nvidia.com/gpu': '2' } }, 2],
    ['GPUs in requests alone', { requests: { 'nvidia.com/gpu': 4 } }, 4],
  ])('asks the engine for nvidia devices: %s', (_name, resources, count) => {
    expect(containerOptions({ ...base, resources }, 'none').HostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', Count: count, Capabilities: [['gpu']] },
    ]);
  });

  it('asks for no device with zero GPUs or none', () => {
    expect(
      containerOptions({ ...base, resources: { limits: { 'nvidia.com/gpu': 0, memory: '1Gi' } } }, 'none').HostConfig,
    ).not.toHaveProperty('DeviceRequests');
    expect(containerOptions({ ...base, resources: { limits: { cpu: '500m', memory: '1Gi' } } }, 'none').HostConfig).toMatchObject({
      NanoCpus: 500_000_000,
      Memory: 1073741824,
      MemorySwap: 1073741824,
    });
  });

  it('refuses a GPU count that is not a whole number', () => {
    expect(() => containerOptions({ ...base, resources: { limits: { 'nvidia.com/gpu': '1.5' } } }, 'none')).toThrow(WorkloadError);
  });

  it('mounts a persistent workspace from the Agent’s named volume, an ephemeral one as an anonymous volume', () => {
    expect(containerOptions({ ...base, workspace: { mountPath: '/workspace' } }, 'none').HostConfig?.Mounts).toEqual([
      { Type: 'volume', Source: 'ao.team-a.coder.workspace', Target: '/workspace' },
    ]);
    expect(containerOptions({ ...base, workspace: { mountPath: '/scratch', ephemeral: true } }, 'none').HostConfig?.Mounts).toEqual([
      { Type: 'volume', Source: '', Target: '/scratch' },
    ]);
  });

  it('sets the working directory and the engine runtime', () => {
    const options = containerOptions({ ...base, workingDir: '/workspace', runtimeClassName: 'runsc' }, 'none');
    expect(options.WorkingDir).toBe('/workspace');
    expect(options.HostConfig?.Runtime).toBe('runsc');
  });
});
