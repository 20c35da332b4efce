// Simulated agent runners for the Pods of one namespace on the local control plane: Pods
// on kwok nodes run no container, so for each agent Pod that turns Running this runs the
// real heartbeat and task runner (runner/) in this process, under the agent's identity
// (its Pod's ServiceAccount, a token bound to the Pod), with a scripted executor: each
// task takes 1-3 s and succeeds with a line about what it did. `make up` starts it for
// the demo namespace.
//
//   node hack/kwok-runners.ts start --namespace demo [--state-dir D]   (detaches; pid in D)
//   node hack/kwok-runners.ts stop [--state-dir D]
//   node hack/kwok-runners.ts run --namespace demo                     (in the foreground)
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { agentClient } from '../test/support/identities.ts';
import { RestClient } from '../operator/src/runtime/rest/client.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { startDaemon, stopDaemon } from './daemon.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    namespace: { type: 'string', default: 'demo' },
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG ?? '' },
    'state-dir': { type: 'string', default: path.join(process.env.AO_STATE_DIR ?? '/tmp/agent-orchestrator', 'kwok-runners') },
  },
});
async function run(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(values.kubeconfig);
  const admin = new RestClient(kc);
  const fleet = new PodFleet(
    admin,
    values.namespace,
    async (task, agent) => {
      await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 2000));
      return {
        outcome: 'Succeeded',
        output: `${agent} did "${(task.input ?? task.name).slice(0, 80)}" (simulated on kwok)`,
        reason: 'exit code 0',
        exitCode: 0,
      };
    },
    (agent) => agentClient(admin, values.kubeconfig, values.namespace, agent),
  );
  process.stdout.write(`simulating the runners of agent Pods in namespace ${values.namespace}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await fleet.stop();
  await admin.close();
}

switch (positionals[0]) {
  case 'run':
    await run();
    break;
  case 'start':
    await stopDaemon(values['state-dir'], 'runners');
    startDaemon(values['state-dir'], 'runners', [
      import.meta.filename,
      'run',
      '--namespace',
      values.namespace,
      '--kubeconfig',
      values.kubeconfig,
    ]);
    break;
  case 'stop':
    await stopDaemon(values['state-dir'], 'runners');
    break;
  default:
    throw new Error('usage: kwok-runners.ts start|stop|run [--namespace N] [--kubeconfig F] [--state-dir D]');
}
