import { describe, expect, it } from 'vitest';
import { podStatus } from './pod-status.ts';

const pod = (status: Record<string, unknown>): Parameters<typeof podStatus>[0] => ({ metadata: { name: 'p', uid: 'u' }, status });

describe('podStatus: the last exit', () => {
  it('keeps an OOM kill while the kubelet runs the container again', () => {
    const s = podStatus(
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'agent',
            restartCount: 1,
            state: { running: { startedAt: '2026-11-30T10:00:05Z' } },
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-11-30T10:00:00Z' } },
          },
        ],
      }),
    );
    expect(s).toMatchObject({
      phase: 'Running',
      restarts: 1,
      lastExit: { reason: 'OOMKilled', exitCode: 137, finishedAt: Date.parse('2026-11-30T10:00:00Z') },
    });
  });

  it('has none for a container that never ended', () => {
    const s = podStatus(
      pod({
        phase: 'Running',
        containerStatuses: [{ name: 'agent', restartCount: 0, state: { running: { startedAt: '2026-11-30T10:00:05Z' } } }],
      }),
    );
    expect(s.lastExit).toBeUndefined();
  });
});

describe('podStatus: the spec hash', () => {
  const made = (serviceAccountName: string): Parameters<typeof podStatus>[0] => ({
    metadata: { name: 'agent-coder', uid: 'u', annotations: { 'agents.orchestrator.dev/spec-hash': 'h1' } },
    spec: { serviceAccountName },
    status: { phase: 'Running' },
  });

  it('is the annotation for a Pod running as its own agent’s account', () => {
    expect(podStatus(made('agent-coder')).specHash).toBe('h1');
  });

  it('differs for a Pod on the shared account of ADR 0010, which could read every Task, so it is rolled', () => {
    expect(podStatus(made('orchestrator-agents')).specHash).not.toBe('h1');
  });
});
