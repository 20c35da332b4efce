import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

describe('parseConfig', () => {
  it.each([
    { name: 'defaults', argv: [], env: {}, logLevel: 'info' },
    { name: 'environment', argv: [], env: { AO_LOG_LEVEL: 'debug' }, logLevel: 'debug' },
    { name: 'flag', argv: ['--log-level', 'warn'], env: {}, logLevel: 'warn' },
    { name: 'flag with =', argv: ['--log-level=error'], env: {}, logLevel: 'error' },
    { name: 'flag beats environment', argv: ['--log-level=trace'], env: { AO_LOG_LEVEL: 'fatal' }, logLevel: 'trace' },
    { name: 'empty environment value means unset', argv: [], env: { AO_LOG_LEVEL: '' }, logLevel: 'info' },
  ])('$name', ({ argv, env, logLevel }) => {
    expect(parseConfig(argv, env).logLevel).toBe(logLevel);
  });

  it('has the defaults a production operator expects', () => {
    expect(parseConfig([], { POD_NAME: 'op-0', HOME: '/home/op' }, 'agents-system')).toEqual({
      kubeEnvironment: { KUBECONFIG: undefined, HOME: '/home/op', KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined },
      logLevel: 'info',
      logFormat: 'json',
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':8081',
      auditWebhookBindAddress: '0',
      leaderElect: true,
      leaderElectionId: 'agent-orchestrator',
      leaderElectionNamespace: 'agents-system',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      identity: 'op-0',
      shutdownTimeoutSeconds: 30,
      kubeApiQps: 100,
      kubeApiBurst: 200,
      watchNamespaces: [],
      resyncPeriodSeconds: 3600,
      watchdogSeconds: 300,
      agentDrainGraceSeconds: 120,
      agentStartupGraceSeconds: 120,
      agentRemovalTimeoutSeconds: 120,
      agentWorkers: 4,
      taskWorkers: 8,
      pluginTimeBudgetMs: 100,
      plugins: [],
      pluginSettings: {},
      taskReassignDelaySeconds: 5,
      taskTimeoutGraceSeconds: 30,
      dockerHost: 'unix:///var/run/docker.sock',
      dockerNetwork: 'host',
      dockerPullPolicy: 'IfNotPresent',
      dockerRequestTimeoutSeconds: 30,
      feasibleAgentsToFind: 100,
    });
  });

  it('takes a token for the audit webhook only with its TLS certificate and key, which the API server needs to send it', () => {
    expect(() => parseConfig(['--audit-webhook-token-file=/t'], {})).toThrow(
      /--audit-webhook-token-file \/ AO_AUDIT_WEBHOOK_TOKEN_FILE: needs --audit-webhook-tls-cert-file/,
    );
    expect(() => parseConfig(['--audit-webhook-tls-cert-file=/c'], {})).toThrow(/AO_AUDIT_WEBHOOK_TLS_KEY_FILE: give both/);
    const c = parseConfig(
      [
        '--audit-webhook-bind-address=:8443',
        '--audit-webhook-token-file=/t',
        '--audit-webhook-tls-cert-file=/c',
        '--audit-webhook-tls-key-file=/k',
      ],
      {},
    );
    expect([c.auditWebhookBindAddress, c.auditWebhookTokenFile, c.auditWebhookTlsCertFile, c.auditWebhookTlsKeyFile]).toEqual([
      ':8443',
      '/t',
      '/c',
      '/k',
    ]);
  });

  it('takes operator-wide plugin settings as a JSON object of objects, naming the flag when they are not', () => {
    expect(parseConfig(['--plugin-settings={"security":{"enabled":true}}'], {}).pluginSettings).toEqual({ security: { enabled: true } });
    expect(parseConfig([], { AO_PLUGIN_SETTINGS: '{"a":{}}' }).pluginSettings).toEqual({ a: {} });
    expect(() => parseConfig(['--plugin-settings={security'], {})).toThrow(/--plugin-settings \/ AO_PLUGIN_SETTINGS: must be JSON/);
    expect(() => parseConfig(['--plugin-settings=[1]'], {})).toThrow(
      /--plugin-settings \/ AO_PLUGIN_SETTINGS: must be a JSON object of objects by plugin name/,
    );
    expect(() => parseConfig(['--plugin-settings={"security":true}'], {})).toThrow(/--plugin-settings \/ AO_PLUGIN_SETTINGS/);
  });

  it('parses booleans, numbers and lists from strings, and freezes the result', () => {
    const config = parseConfig(['--leader-elect=false', '--kube-api-qps=50.5', '--watch-namespaces', 'team-a, team-b,'], {
      AO_SHUTDOWN_TIMEOUT: '5',
      POD_NAMESPACE: 'ops',
    });
    expect(config).toMatchObject({
      leaderElect: false,
      kubeApiQps: 50.5,
      watchNamespaces: ['team-a', 'team-b'],
      shutdownTimeoutSeconds: 5,
      leaderElectionNamespace: 'ops',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.watchNamespaces)).toBe(true);
  });

  it.each([
    { name: 'environment, comma-separated', argv: [], env: { AO_PLUGINS: 'a.js, /opt/b.mjs,' }, plugins: ['a.js', '/opt/b.mjs'] },
    { name: 'repeated flag', argv: ['--plugin', 'a.js', '--plugin=b.js,c.ts'], env: {}, plugins: ['a.js', 'b.js', 'c.ts'] },
    { name: 'flag beats environment', argv: ['--plugin=a.js'], env: { AO_PLUGINS: 'b.js' }, plugins: ['a.js'] },
  ])('takes plugin modules from the $name', ({ argv, env, plugins }) => {
    const config = parseConfig(argv, env);
    expect(config.plugins).toEqual(plugins);
    expect(Object.isFrozen(config.plugins)).toBe(true);
  });

  it('gives each replica a distinct identity outside a Pod', () => {
    expect(parseConfig([], {}).identity).not.toBe(parseConfig([], {}).identity);
  });

  it.each([
    [['--leader-elect=maybe'], /--leader-elect \/ AO_LEADER_ELECT/],
    [['--kube-api-burst=0'], /--kube-api-burst \/ AO_KUBE_API_BURST: .*>=1/],
    [['--metrics-bind-address=8080'], /--metrics-bind-address .* must be host:port/],
    [['--watch-namespaces=Team_A'], /--watch-namespaces .* DNS label/],
    [['--leader-elect-lease-duration=10'], /--leader-elect-lease-duration .* greater than the renew deadline/],
    [['--leader-elect-retry-period=9'], /--leader-elect-renew-deadline .* 1\.2 x the retry period/],
  ])('rejects %j naming the setting', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it('names the flag, the variable and the allowed values for a bad level', () => {
    expect(() => parseConfig([], { AO_LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => parseConfig([], { AO_LOG_LEVEL: 'verbose' })).toThrow(/--log-level \/ AO_LOG_LEVEL: .*"trace".*"fatal"/);
  });

  it('lists the known flags when given an unknown one', () => {
    expect(() => parseConfig(['--log-levle=info'], {})).toThrow(/--log-levle.*known flags: --log-level/);
  });

  it('a valid flag always wins over any environment value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...levels), fc.option(fc.string()), (flag, env) => {
        const config = parseConfig([`--log-level=${flag}`], env === null ? {} : { AO_LOG_LEVEL: env });
        expect(Object.isFrozen(config)).toBe(true);
        expect(config.logLevel).toBe(flag);
      }),
    );
  });

  it('rejects every level outside the allowed set', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !(levels as readonly string[]).includes(s)),
        (level) => {
          expect(() => parseConfig([], { AO_LOG_LEVEL: level })).toThrow(/AO_LOG_LEVEL/);
        },
      ),
    );
  });
});
