import { describe, expect, it } from 'vitest';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { Agents, Tasks } from './resources.ts';

describe("the runner's resource types", () => {
  it('are the ones the API defines', () => {
    expect(Tasks).toEqual(resourceOfKind(taskKind));
    expect(Agents).toEqual(resourceOfKind(agentKind));
  });
});
