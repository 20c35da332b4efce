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
    expect(s).toMatchObject({ phase: 'Running', restarts: 1, lastExit: { reason: 'OOMKilled', exitCode: 137, finishedAt: Date.parse('2026-11-30T10:00:00Z') } });
  });

  it('has none for a container that never ended', () => {
    const s = podStatus(pod({ phase: 'Running', containerStatuses: [{ name: 'agent', restartCount: 0, state: { running: { startedAt: '2026-11-30T10:00:05Z' } } }] }));
    expect(s.lastExit).toBeUndefined();
  });
});
