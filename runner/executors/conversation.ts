import type { ChatMessage } from './chat-completions.ts';

/**
 * A chat agent's memory (RUNNER_MODEL_SESSION=agent): the system prompt, the summary it
 * was compacted or seeded to, and the exchanges since. The summary joins the system
 * message rather than becoming a turn of its own: chat templates that insist on
 * user/assistant alternation (Mistral's, for one) accept it that way.
 */
export class Conversation {
  private readonly systemPrompt: string | undefined;
  private readonly maxMessages: number;
  private summary: string | undefined;
  private turns: ChatMessage[] = [];
  private recorded = 0;

  /** `maxMessages` bounds the kept turns (user and assistant messages) as a safety net. */
  constructor(systemPrompt: string | undefined, maxMessages: number) {
    this.systemPrompt = systemPrompt;
    this.maxMessages = Math.max(2, maxMessages);
  }

  /** What to send before a new user message. */
  messages(): ChatMessage[] {
    const system = [this.systemPrompt, this.summary === undefined ? undefined : `${SUMMARY_HEADING}\n${this.summary}`]
      .filter((p): p is string => p !== undefined)
      .join('\n\n');
    return [...(system === '' ? [] : [{ role: 'system' as const, content: system }]), ...this.turns];
  }

  /** Exchanges recorded so far, ever: a mark for `compactTo`. */
  get exchanges(): number {
    return this.recorded;
  }

  /** Nothing but the system prompt. */
  get empty(): boolean {
    return this.summary === undefined && this.turns.length === 0;
  }

  record(user: string, assistant: string): void {
    this.turns.push({ role: 'user', content: user }, { role: 'assistant', content: assistant });
    this.recorded++;
    // Oldest exchanges first, whole: the conversation keeps starting with a user turn.
    while (this.turns.length > this.maxMessages) this.turns.splice(0, 2);
  }

  /**
   * Continues from `summary` instead of the turns. Exchanges recorded after the mark
   * `since` (tasks that finished while the summary was being written) are kept.
   */
  compactTo(summary: string, since = this.recorded): void {
    const later = Math.min(this.recorded - since, this.turns.length / 2);
    this.turns = later > 0 ? this.turns.slice(-2 * later) : [];
    this.summary = summary;
  }
}

export const SUMMARY_HEADING = 'A summary of the conversation so far:';
