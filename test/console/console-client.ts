import { request } from "node:https";

// A person's browser, as far as the console's API goes: one cookie jar, the CSRF token from login, JSON
// in and out over HTTPS with the test CA pinned, and Server-Sent Events read as they arrive.

export interface ConsoleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answers
  json: any;
}

export interface StreamEvent {
  event: string;
  data: string;
}

export class ConsoleClient {
  private cookie = "";
  csrfToken = "";

  readonly url: string;
  private readonly ca: string;

  constructor(url: string, ca: string) {
    this.url = url;
    this.ca = ca;
  }

  async login(username: string, password: string): Promise<ConsoleResponse> {
    const response = await this.send("POST", "/api/login", { username, password });
    if (response.status === 200) this.csrfToken = response.json.csrfToken;
    return response;
  }

  get(path: string): Promise<ConsoleResponse> {
    return this.send("GET", path);
  }

  post(path: string, body: unknown, headers: Record<string, string> = { "x-csrf-token": this.csrfToken }) {
    return this.send("POST", path, body, headers);
  }

  /** Opens /api/stream; events are collected until close(). */
  stream(): { events: StreamEvent[]; close(): void } {
    const events: StreamEvent[] = [];
    let buffered = "";
    const req = request(
      `${this.url}/api/stream`,
      { ca: this.ca, headers: { cookie: this.cookie } },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let end = buffered.indexOf("\n\n");
          while (end >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const field = (name: string) =>
              block
                .split("\n")
                .find((line) => line.startsWith(`${name}: `))
                ?.slice(name.length + 2);
            const event = field("event");
            if (event) events.push({ event, data: field("data") ?? "" });
            end = buffered.indexOf("\n\n");
          }
        });
      },
    );
    req.on("error", () => {});
    req.end();
    return { events, close: () => req.destroy() };
  }

  private send(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ConsoleResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${path}`,
        {
          method,
          ca: this.ca,
          timeout: 30_000,
          headers: {
            ...(this.cookie ? { cookie: this.cookie } : {}),
            ...(payload === undefined ? {} : { "content-type": "application/json" }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const setCookie = [res.headers["set-cookie"] ?? []]
              .flat()
              .find((c) => c.startsWith("tbc_session="));
            if (setCookie) this.cookie = setCookie.split(";")[0] as string;
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }
}
