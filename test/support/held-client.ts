import type { RestClient } from '../../operator/src/runtime/rest/client.ts';

/** A REST client whose answers the test gives: every request waits until `answerAll`. */
export interface HeldClient {
  client: RestClient;
  /** The path of every request, in the order they were sent. */
  paths: string[];
  /** Requests sent and not answered yet. */
  outstanding: () => number;
  answerAll: () => void;
}

export function heldClient(): HeldClient {
  const paths: string[] = [];
  let waiting: (() => void)[] = [];
  const client = {
    request: (_method: string, path: string) => {
      paths.push(path);
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
  } as unknown as RestClient;
  return {
    client,
    paths,
    outstanding: () => waiting.length,
    answerAll: () => {
      const answers = waiting;
      waiting = [];
      for (const answer of answers) answer();
    },
  };
}
