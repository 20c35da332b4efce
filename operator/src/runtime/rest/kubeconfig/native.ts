import type { Clock } from '../../clock.ts';
import type { ClusterAccess, Credentials } from '../cluster-access.ts';
import { type Entry, type Fields, KubeconfigError } from './file.ts';
import { RereadFile } from './reread-file.ts';

// What this loader does itself. Anything else in the chosen cluster or user (exec,
// other auth providers, username/password, impersonation, fields added later) is left
// to client-node (client-node.ts), so no kubeconfig means less here than it did before.
// `extensions` carry nothing about the connection; `token-file` is client-node's name
// for client-go's `tokenFile`, and its `tokenFile` auth provider (what the operator
// writes for docker agents, and runners of earlier releases read) is a token file too.
const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'proxy-url',
  'tls-server-name',
  'extensions',
]);
const USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'token-file',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);

export interface Selected {
  clusterName: string;
  cluster: Entry;
  userName: string | undefined;
  user: Entry | undefined;
}

/** The first field of the chosen cluster or user that this loader leaves to client-node. */
export function unsupportedField(s: Selected): string | undefined {
  const cluster = setKeys(s.cluster.fields).find((k) => !CLUSTER_FIELDS.has(k));
  if (cluster !== undefined) return `clusters[${s.clusterName}].cluster.${cluster}`;
  const user = setKeys(s.user?.fields ?? {}).find(
    (k) => !USER_FIELDS.has(k) && !(k === 'auth-provider' && tokenFileProvider(s.user?.fields ?? {}) !== undefined),
  );
  return user === undefined ? undefined : `users[${s.userName ?? ''}].user.${user}`;
}

/** The path of client-node's tokenFile auth provider, when that is all the provider holds. */
function tokenFileProvider(user: Fields): string | undefined {
  const provider = user['auth-provider'] as { name?: unknown; config?: Record<string, unknown> } | null | undefined;
  const config = provider?.config ?? {};
  const file = config.tokenFile;
  return provider?.name === 'tokenFile' && typeof file === 'string' && file !== '' && Object.keys(config).length === 1 ? file : undefined;
}

// client-node's exportConfig writes `exec: null` and the like for what a user lacks.
const setKeys = (fields: Fields): string[] => Object.keys(fields).filter((k) => fields[k] !== null && fields[k] !== undefined);

type Source = { data: Buffer } | { file: RereadFile };

/** A ClusterAccess for a cluster and user made only of fields in the sets above. */
export function nativeAccess(s: Selected, clock: Clock): ClusterAccess {
  const c = new EntryReader(s.cluster, `clusters[${s.clusterName}].cluster`, clock);
  const u = new EntryReader(s.user ?? { fields: {}, source: s.cluster.source }, `users[${s.userName ?? ''}].user`, clock);

  const server = c.string('server');
  if (server === undefined) throw c.error('server', "is missing; set it to the API server's URL (https://host:port)");
  if (!/^https?:\/\/[^/]/.test(server)) throw c.error('server', `${server} is not an http(s) URL; set it to https://host:port`);
  const proxyUrl = c.string('proxy-url');
  const insecure = c.fields['insecure-skip-tls-verify'];
  if (insecure !== undefined && typeof insecure !== 'boolean') throw c.error('insecure-skip-tls-verify', 'must be true or false');
  const servername = c.string('tls-server-name');
  const ca = c.pem('certificate-authority', 'certificate-authority-data');
  const cert = u.pem('client-certificate', 'client-certificate-data');
  const key = u.pem('client-key', 'client-key-data');
  if ((cert === undefined) !== (key === undefined)) {
    throw u.error(
      cert ? 'client-key' : 'client-certificate',
      'is missing: a client certificate needs its key (client-certificate(-data) and client-key(-data) together)',
    );
  }
  const token = bearerToken(u, clock);

  return {
    server: server.replace(/\/+$/, ''),
    proxyUrl,
    async credentials(): Promise<Credentials> {
      const [bearer, caPem, certPem, keyPem] = await Promise.all([token?.(), read(ca), read(cert), read(key)]);
      return {
        headers: bearer ? { Authorization: `Bearer ${bearer}` } : {},
        tls: {
          ...(caPem ? { ca: caPem } : {}),
          ...(certPem ? { cert: certPem } : {}),
          ...(keyPem ? { key: keyPem } : {}),
          ...(insecure === true ? { rejectUnauthorized: false } : {}),
          ...(servername ? { servername } : {}),
        },
      };
    },
  };
}

function bearerToken(u: EntryReader, clock: Clock): (() => Promise<string>) | undefined {
  const token = u.string('token');
  const files = [
    { field: 'tokenFile', path: u.string('tokenFile') },
    { field: 'token-file', path: u.string('token-file') },
    { field: 'auth-provider.config.tokenFile', path: tokenFileProvider(u.fields) },
  ].filter((f) => f.path !== undefined);
  const [first, second] = files;
  if (first && (second || token !== undefined)) throw u.error(first.field, `and ${second?.field ?? 'token'} are both set; keep one`);
  if (token !== undefined) return () => Promise.resolve(token);
  if (first?.path === undefined) return undefined;
  const reread = new RereadFile(first.path, u.label(first.field), clock);
  // client-go trims the file's whitespace; a trailing newline is not part of the token.
  return async () => (await reread.read()).toString('utf8').trim();
}

async function read(source: Source | undefined): Promise<Buffer | undefined> {
  if (source === undefined) return undefined;
  return 'data' in source ? source.data : source.file.read();
}

/** The fields of one cluster or user, read with errors that name the field and its file. */
class EntryReader {
  readonly fields: Fields;
  private readonly where: string;
  private readonly source: string;
  private readonly clock: Clock;

  constructor(entry: Entry, where: string, clock: Clock) {
    this.fields = entry.fields;
    this.source = entry.source;
    this.where = where;
    this.clock = clock;
  }

  /** Where a field is, for messages: "kubeconfig /root/.kube/config: users[ci].user.token". */
  label(field: string): string {
    return `${this.source}: ${this.where}.${field}`;
  }

  error(field: string, problem: string): KubeconfigError {
    return new KubeconfigError(`${this.label(field)} ${problem}`);
  }

  string(field: string): string | undefined {
    const value = this.fields[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw this.error(field, 'must be a string');
    return value;
  }

  /** A PEM from `fileField` (a path) or `dataField` (base64), re-read when from a file. */
  pem(fileField: string, dataField: string): Source | undefined {
    const file = this.string(fileField);
    const data = this.string(dataField);
    if (file !== undefined && data !== undefined) throw this.error(dataField, `and ${fileField} are both set; keep one`);
    if (file !== undefined) return { file: new RereadFile(file, this.label(fileField), this.clock) };
    if (data === undefined) return undefined;
    if (!/^[A-Za-z0-9+/=\s]+$/.test(data))
      throw this.error(dataField, 'is not base64; it holds the PEM file base64-encoded (base64 -w0 FILE)');
    return { data: Buffer.from(data, 'base64') };
  }
}
