import { describe, expect, it } from 'vitest';
import { dockerClientFor } from './docker-client.ts';
import { dockerError, isUnreachable } from './docker-errors.ts';

interface ModemFields {
  socketPath?: unknown;
  host?: unknown;
  port?: unknown;
  protocol?: unknown;
}

const modemOf = (endpoint: string): ModemFields => (dockerClientFor(endpoint) as unknown as { modem: ModemFields }).modem;

describe('dockerClientFor', () => {
  it('talks to a unix socket', () => {
    expect(modemOf('unix:///var/run/docker.sock')).toMatchObject({ socketPath: '/var/run/docker.sock', protocol: 'http' });
  });

  it('talks to tcp://host:port over plain HTTP', () => {
    expect(modemOf('tcp://127.0.0.1:2375')).toMatchObject({ host: '127.0.0.1', port: 2375, protocol: 'http' });
  });

  it.each([
    'http://127.0.0.1:2375',
    'ssh://me@host',
    'npipe:////./pipe/docker_engine',
    'unix://relative.sock',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:2375/path',
    '',
  ])('rejects %j clearly', (endpoint) => {
    expect(() => dockerClientFor(endpoint)).toThrow(/Docker endpoint/);
  });
});

describe('docker errors', () => {
  const connectError = (code: string): Error => Object.assign(new Error(`connect ${code} /tmp/docker.sock`), { code });
  const apiError = (statusCode: number, message: string): Error =>
    Object.assign(new Error(`(HTTP code ${statusCode}) conflict - ${message} `), { statusCode, json: { message } });

  it('treats failures to connect as an unreachable engine, not answers', () => {
    expect(isUnreachable(connectError('ECONNREFUSED'))).toBe(true);
    expect(isUnreachable(connectError('ENOENT'))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isUnreachable(apiError(500, 'server error'))).toBe(false);
  });

  it('turns them into RuntimeUnavailable, and keeps the message of an API error with what was being done', () => {
    expect(dockerError('unix:///x.sock', 'ensuring container ao.a.b', connectError('ECONNREFUSED'))).toMatchObject({
      name: 'WorkloadError',
      reason: 'RuntimeUnavailable',
      message: 'the Docker engine at unix:///x.sock cannot be reached: connect ECONNREFUSED /tmp/docker.sock',
    });
    const err = dockerError('unix:///x.sock', 'ensuring container ao.a.b', apiError(409, 'name in use'));
    expect(err.message).toBe('ensuring container ao.a.b: name in use (HTTP 409)');
  });
});
