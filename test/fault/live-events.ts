/** `GET /api/events` (SSE) read by a test: every event kept with its type and parsed data. */
export class LiveEvents {
  readonly events: Array<{ type: string; data: any }> = [];
  private readonly abort = new AbortController();

  private constructor() {}

  static async open(baseUrl: string, cookie: string): Promise<LiveEvents> {
    const live = new LiveEvents();
    const res = await fetch(`${baseUrl}/api/events`, { headers: { cookie, accept: 'text/event-stream' }, signal: live.abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`GET /api/events: ${res.status}`);
    void live.read(res.body);
    return live;
  }

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) this.events.push({ type, data: JSON.parse(data) });
        }
      }
    } catch {
      /* aborted by close() */
    }
  }
}
