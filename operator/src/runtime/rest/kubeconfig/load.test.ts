import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../../test/support/fake-clock.ts';
import type { Credentials } from '../cluster-access.ts';
import { KubeconfigError } from './file.ts';
import { type KubeEnvironment, loadClusterAccess } from './load.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kubeconfig-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes files under the test's folder; returns the absolute path of the first. */
async function files(contents: Record<string, string>): Promise<string[]> {
  return Promise.all(
    Object.entries(contents).map(async ([name, text]) => {
      const file = path.join(dir, name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
      return file;
    }),
  );
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A one-context kubeconfig in YAML, as kubectl writes them. */
function kubeconfig(cluster: string, user: string, context = 'ctx'): string {
  return `apiVersion: v1
kind: Config
current-context: ${context}
clusters:
- name: c
  cluster:
${indent(cluster, 4)}
users:
- name: u
  user:
${indent(user, 4)}
contexts:
- name: ${context}
  context: {cluster: c, user: u}
`;
}
const indent = (s: string, n: number): string =>
  s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

/** Credentials with Buffers as text, for comparison. */
function readable(c: Credentials): unknown {
  return { headers: c.headers, tls: Object.fromEntries(Object.entries(c.tls).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : v])) };
}

interface Case {
  name: string;
  files: Record<string, string>;
  env?: (dir: string) => KubeEnvironment;
  context?: string;
  server: string;
  proxyUrl?: string;
  credentials: unknown;
}

const kubeconfigEnv =
  (...names: string[]) =>
  (d: string): KubeEnvironment => ({ KUBECONFIG: names.map((n) => path.join(d, n)).join(path.delimiter) });

describe('loadClusterAccess without client-node', () => {
  it.each<Case>([
    {
      name: 'a token user',
      files: { config: kubeconfig('server: https://127.0.0.1:6443/', 'token: abc') },
      env: kubeconfigEnv('config'),
      server: 'https://127.0.0.1:6443',
      credentials: { headers: { Authorization: 'Bearer abc' }, tls: {} },
    },
    {
      name: 'a tokenFile, trimmed, relative to the kubeconfig',
      files: { 'kube/config': kubeconfig('server: https://h:1', 'tokenFile: token'), 'kube/token': 'from-file\n' },
      env: kubeconfigEnv('kube/config'),
      server: 'https://h:1',
      credentials: { headers: { Authorization: 'Bearer from-file' }, tls: {} },
    },
    {
      name: "client-node's token-file spelling",
      files: { config: kubeconfig('server: https://h:1', 'token-file: token'), token: 't' },
      env: kubeconfigEnv('config'),
      server: 'https://h:1',
      credentials: { headers: { Authorization: 'Bearer t' }, tls: {} },
    },
    {
      name: 'client certificate and key as data, CA as data',
      files: {
        config: kubeconfig(
          `server: https://h:1\ncertificate-authority-data: ${b64('CA')}`,
          `client-certificate-data: ${b64('CERT')}\nclient-key-data: ${b64('KEY')}`,
        ),
      },
      env: kubeconfigEnv('config'),
      server: 'https://h:1',
      credentials: { headers: {}, tls: { ca: 'CA', cert: 'CERT', key: 'KEY' } },
    },
    {
      name: 'client certificate, key and CA as files, relative to the kubeconfig',
      files: {
        'k/config': kubeconfig(
          'server: https://h:1\ncertificate-authority: pki/ca.crt',
          'client-certificate: pki/c.crt\nclient-key: /ABS/c.key',
        ),
        'k/pki/ca.crt': 'CA',
        'k/pki/c.crt': 'CERT',
        'c.key': 'KEY',
      },
      env: kubeconfigEnv('k/config'),
      server: 'https://h:1',
      credentials: { headers: {}, tls: { ca: 'CA', cert: 'CERT', key: 'KEY' } },
    },
    {
      name: 'insecure-skip-tls-verify, tls-server-name and proxy-url',
      files: {
        config: kubeconfig(
          'server: https://h:1\ninsecure-skip-tls-verify: true\ntls-server-name: api.local\nproxy-url: http://127.0.0.1:3128',
          'token: x',
        ),
      },
      env: kubeconfigEnv('config'),
      server: 'https://h:1',
      proxyUrl: 'http://127.0.0.1:3128',
      credentials: { headers: { Authorization: 'Bearer x' }, tls: { rejectUnauthorized: false, servername: 'api.local' } },
    },
    {
      name: "JSON with client-node's tokenFile auth provider, as the operator writes for docker agents",
      files: {
        config: JSON.stringify({
          clusters: [{ name: 'cluster', cluster: { server: 'https://h:1', 'certificate-authority-data': b64('CA') } }],
          users: [{ name: 'agent', user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile: '/ABS/token' } } } }],
          contexts: [{ name: 'agent', context: { cluster: 'cluster', user: 'agent', namespace: 'ns' } }],
          'current-context': 'agent',
        }),
        token: 'sa-token',
      },
      env: kubeconfigEnv('config'),
      server: 'https://h:1',
      credentials: { headers: { Authorization: 'Bearer sa-token' }, tls: { ca: 'CA' } },
    },
    {
      name: "null fields, as client-node's exportConfig writes them",
      files: { config: kubeconfig('server: https://h:1\nproxy-url: null', 'token: t\nexec: null\nauth-provider: null') },
      env: kubeconfigEnv('config'),
      server: 'https://h:1',
      credentials: { headers: { Authorization: 'Bearer t' }, tls: {} },
    },
    {
      name: 'a context without a user sends no credentials',
      files: {
        config:
          'current-context: x\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:8080"}}]\ncontexts: [{name: x, context: {cluster: c}}]\n',
      },
      env: kubeconfigEnv('config'),
      server: 'http://127.0.0.1:8080',
      credentials: { headers: {}, tls: {} },
    },
    {
      name: 'the chosen context instead of current-context',
      files: {
        config: `current-context: a
clusters: [{name: ca, cluster: {server: "https://a:1"}}, {name: cb, cluster: {server: "https://b:1"}}]
users: [{name: ua, user: {token: A}}, {name: ub, user: {token: B}}]
contexts: [{name: a, context: {cluster: ca, user: ua}}, {name: b, context: {cluster: cb, user: ub}}]
`,
      },
      env: kubeconfigEnv('config'),
      context: 'b',
      server: 'https://b:1',
      credentials: { headers: { Authorization: 'Bearer B' }, tls: {} },
    },
    {
      name: 'several KUBECONFIG files: the first current-context and the first definition of a name win',
      files: {
        one: 'current-context: two\nusers: [{name: u, user: {token: first}}]\n',
        two: kubeconfig('server: https://second:1', 'token: second', 'two'),
      },
      env: (d) => ({ KUBECONFIG: `${path.join(d, 'one')}${path.delimiter}${path.delimiter}${path.join(d, 'two')}` }),
      server: 'https://second:1',
      credentials: { headers: { Authorization: 'Bearer first' }, tls: {} },
    },
    {
      name: '~/.kube/config when KUBECONFIG is unset',
      files: { 'home/.kube/config': kubeconfig('server: https://home:1', 'token: h') },
      env: (d) => ({ HOME: path.join(d, 'home') }),
      server: 'https://home:1',
      credentials: { headers: { Authorization: 'Bearer h' }, tls: {} },
    },
    {
      name: "in-cluster: the ServiceAccount's token and CA",
      files: { 'sa/token': 'pod-token\n', 'sa/ca.crt': 'CLUSTER-CA' },
      env: (d) => ({ HOME: path.join(d, 'nohome'), KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }),
      server: 'https://10.96.0.1:443',
      credentials: { headers: { Authorization: 'Bearer pod-token' }, tls: { ca: 'CLUSTER-CA' } },
    },
    {
      name: 'in-cluster on IPv6',
      files: { 'sa/token': 't', 'sa/ca.crt': 'CA' },
      env: () => ({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }),
      server: 'https://[fd00::1]:443',
      credentials: { headers: { Authorization: 'Bearer t' }, tls: { ca: 'CA' } },
    },
  ])('$name', async (c) => {
    await files(Object.fromEntries(Object.entries(c.files).map(([k, v]) => [k, v.replaceAll('/ABS/', `${dir}/`)])));
    const loaded = await loadClusterAccess({ env: c.env?.(dir) ?? {}, context: c.context, serviceAccountDir: path.join(dir, 'sa') });
    expect(loaded.clientNodeFor).toBeUndefined();
    expect(loaded.access.server).toBe(c.server);
    expect(loaded.access.proxyUrl).toBe(c.proxyUrl);
    expect(readable(await loaded.access.credentials())).toEqual(c.credentials);
  });
});

describe('loadClusterAccess errors name the field and the fix', () => {
  it.each<{ name: string; files: Record<string, string>; env?: (d: string) => KubeEnvironment; context?: string; message: RegExp }>([
    {
      name: 'nothing to load',
      files: {},
      env: (d) => ({ HOME: d }),
      message: /no kubeconfig: KUBECONFIG is unset, .*\.kube\/config does not exist .*; set KUBECONFIG/,
    },
    {
      name: 'a missing KUBECONFIG file',
      files: {},
      env: kubeconfigEnv('nope'),
      message: /kubeconfig .*nope: cannot read it \(ENOENT\); point KUBECONFIG at a readable file/,
    },
    {
      name: 'not YAML',
      files: { config: 'clusters: [' },
      env: kubeconfigEnv('config'),
      message: /kubeconfig .*config: not valid YAML or JSON/,
    },
    {
      name: 'clusters not a list',
      files: { config: 'clusters: {a: 1}' },
      env: kubeconfigEnv('config'),
      message: /clusters must be a list of \{name, cluster\}/,
    },
    {
      name: 'a nameless entry',
      files: { config: 'users: [{user: {token: x}}]' },
      env: kubeconfigEnv('config'),
      message: /users\[0\]\.name is missing/,
    },
    {
      name: 'no current-context',
      files: { config: 'clusters: []' },
      env: kubeconfigEnv('config'),
      message: /current-context is not set; set it \(kubectl config use-context NAME\)/,
    },
    {
      name: 'an unknown context',
      files: { config: kubeconfig('server: https://h:1', 'token: x') },
      env: kubeconfigEnv('config'),
      context: 'prod',
      message: /no context named prod \(there are: ctx\); fix the chosen context/,
    },
    {
      name: 'a context naming a missing cluster',
      files: { config: 'current-context: x\ncontexts: [{name: x, context: {cluster: gone}}]' },
      env: kubeconfigEnv('config'),
      message: /contexts\[x\]\.context\.cluster: no cluster named gone \(there are none\)/,
    },
    {
      name: 'a context naming a missing user',
      files: {
        config:
          'current-context: x\nclusters: [{name: c, cluster: {server: "https://h:1"}}]\ncontexts: [{name: x, context: {cluster: c, user: who}}]',
      },
      env: kubeconfigEnv('config'),
      message: /contexts\[x\]\.context\.user: no user named who/,
    },
    {
      name: 'no server',
      files: { config: kubeconfig('certificate-authority-data: QQ==', 'token: x') },
      env: kubeconfigEnv('config'),
      message: /clusters\[c\]\.cluster\.server is missing; set it to the API server's URL/,
    },
    {
      name: 'a server without a scheme',
      files: { config: kubeconfig('server: h:6443', 'token: x') },
      env: kubeconfigEnv('config'),
      message: /clusters\[c\]\.cluster\.server h:6443 is not an http\(s\) URL/,
    },
    {
      name: 'a certificate without its key',
      files: { config: kubeconfig('server: https://h:1', `client-certificate-data: ${b64('C')}`) },
      env: kubeconfigEnv('config'),
      message: /users\[u\]\.user\.client-key is missing: a client certificate needs its key/,
    },
    {
      name: 'a CA both as a file and as data',
      files: {
        config: kubeconfig(`server: https://h:1\ncertificate-authority: ca.crt\ncertificate-authority-data: ${b64('CA')}`, 'token: x'),
      },
      env: kubeconfigEnv('config'),
      message: /clusters\[c\]\.cluster\.certificate-authority-data and certificate-authority are both set; keep one/,
    },
    {
      name: 'a token and a tokenFile',
      files: { config: kubeconfig('server: https://h:1', 'token: x\ntokenFile: /t') },
      env: kubeconfigEnv('config'),
      message: /users\[u\]\.user\.tokenFile and token are both set; keep one/,
    },
    {
      name: 'a tokenFile and a tokenFile auth provider',
      files: { config: kubeconfig('server: https://h:1', 'tokenFile: /t\nauth-provider: {name: tokenFile, config: {tokenFile: /u}}') },
      env: kubeconfigEnv('config'),
      message: /users\[u\]\.user\.tokenFile and auth-provider\.config\.tokenFile are both set; keep one/,
    },
    {
      name: 'data that is not base64',
      files: { config: kubeconfig('server: https://h:1\ncertificate-authority-data: "-----BEGIN"', 'token: x') },
      env: kubeconfigEnv('config'),
      message: /certificate-authority-data is not base64/,
    },
    {
      name: 'a non-boolean insecure flag',
      files: { config: kubeconfig('server: https://h:1\ninsecure-skip-tls-verify: "yes"', 'token: x') },
      env: kubeconfigEnv('config'),
      message: /insecure-skip-tls-verify must be true or false/,
    },
    {
      name: 'in-cluster without the service variables',
      files: { 'sa/token': 't' },
      env: () => ({}),
      message:
        /in-cluster config .*: a ServiceAccount token is mounted but KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set/,
    },
  ])('$name', async (c) => {
    await files(c.files);
    await expect(
      loadClusterAccess({ env: c.env?.(dir) ?? {}, context: c.context, serviceAccountDir: path.join(dir, 'sa') }),
    ).rejects.toThrow(c.message);
  });

  it('a tokenFile that cannot be read fails the request, naming the field', async () => {
    const [config] = await files({ config: kubeconfig('server: https://h:1', 'tokenFile: missing-token') });
    const { access } = await loadClusterAccess({ env: { KUBECONFIG: config } });
    const failure = access.credentials();
    await expect(failure).rejects.toBeInstanceOf(KubeconfigError);
    await expect(failure).rejects.toThrow(/users\[u\]\.user\.tokenFile .*missing-token: cannot read it \(ENOENT\)/);
  });
});

describe('kubeconfig rotation', () => {
  it('re-reads the token and CA files once a minute and keeps the last good token if a file vanishes', async () => {
    const clock = new FakeClock();
    const [config, token, ca] = await files({
      config: kubeconfig('server: https://h:1\ncertificate-authority: ca.crt', 'tokenFile: token'),
      token: 'one',
      'ca.crt': 'CA1',
    });
    if (!token || !ca) throw new Error('files() returns one path per file');
    const { access } = await loadClusterAccess({ env: { KUBECONFIG: config }, clock });
    const now = async (): Promise<unknown> => readable(await access.credentials());
    expect(await now()).toEqual({ headers: { Authorization: 'Bearer one' }, tls: { ca: 'CA1' } });

    await writeFile(token, 'two');
    await writeFile(ca, 'CA2');
    await clock.advance(59_000);
    expect(await now()).toEqual({ headers: { Authorization: 'Bearer one' }, tls: { ca: 'CA1' } });
    await clock.advance(1_000);
    expect(await now()).toEqual({ headers: { Authorization: 'Bearer two' }, tls: { ca: 'CA2' } });

    await rm(token);
    await clock.advance(60_000);
    expect((await access.credentials()).headers).toEqual({ Authorization: 'Bearer two' });
  });
});

/** An unsigned JWT that expires in 2100: client-node's OIDC provider uses it without refreshing. */
const ID_TOKEN =
  [{ alg: 'none' }, { exp: 4102444800 }].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.sig';

describe('what falls back to client-node', () => {
  it.each([
    {
      name: 'an exec credential plugin',
      user: (d: string) => `exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ${d}/plugin.sh\n  interactiveMode: Never`,
      field: 'users[u].user.exec',
      headers: { Authorization: 'Bearer from-exec' },
    },
    {
      name: 'an OIDC auth provider',
      user: () => `auth-provider: {name: oidc, config: {id-token: ${ID_TOKEN}, client-id: x, idp-issuer-url: "https://127.0.0.1:1"}}`,
      field: 'users[u].user.auth-provider',
      headers: { Authorization: `Bearer ${ID_TOKEN}` },
    },
    {
      name: 'basic auth',
      user: () => 'username: ada\npassword: pw',
      field: 'users[u].user.username',
      headers: { Authorization: `Basic ${b64('ada:pw')}` },
    },
    {
      name: 'impersonation',
      user: () => 'token: t\nas: someone',
      field: 'users[u].user.as',
      headers: { Authorization: 'Bearer t', 'Impersonate-User': 'someone' },
    },
  ])('$name', async (c) => {
    const plugin =
      '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n';
    const [config] = await files({ config: kubeconfig('server: https://h:1', c.user(dir)), 'plugin.sh': plugin, token: 'legacy' });
    await chmod(path.join(dir, 'plugin.sh'), 0o755);
    const loaded = await loadClusterAccess({ env: { KUBECONFIG: config } });
    expect(loaded.clientNodeFor).toBe(c.field);
    expect(loaded.access.server).toBe('https://h:1');
    expect((await loaded.access.credentials()).headers).toEqual(c.headers);
  });
});
